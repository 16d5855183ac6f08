"""Notifications through Apprise: what needs a person is told once, off the pipeline's path.

`urls` reads and checks Apprise URLs, `events` says what happened (and de-duplicates it through the store),
`sender` sends from a background thread, `probe` is `beatdesk notify test`. Import the module you need: this
package imports nothing heavy.
"""
