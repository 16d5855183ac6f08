"""Publishers: approved posts out to the persona's channels, once each."""
