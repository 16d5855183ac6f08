// Keyboard review: move through the rows, open, select, approve, without the mouse. The row last marked on
// this page (and these filters) is marked again on coming back, by its post, not its position.
(() => {
  const rows = [...document.querySelectorAll("#queue tbody tr")].filter((row) => row.querySelector("a"));
  const remembered = "queue-row:" + location.pathname + location.search.replace(/[?&](done|error)=[^&]*/g, "");
  let current = -1;
  const mark = (index) => {
    if (!rows.length) return;
    rows.forEach((row) => row.removeAttribute("aria-current"));
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].setAttribute("aria-current", "true");
    rows[current].scrollIntoView({block: "nearest"});
    sessionStorage.setItem(remembered, rows[current].querySelector("td a").getAttribute("href"));
  };
  const before = rows.findIndex((row) => row.querySelector("td a").getAttribute("href") === sessionStorage.getItem(remembered));
  if (before >= 0) mark(before);
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const row = rows[current];
    if (event.key === "j") mark(current + 1);
    else if (event.key === "k") mark(current - 1);
    else if ((event.key === "o" || event.key === "Enter") && row) window.location = row.querySelector("td a").href;
    else if (event.key === "x" && row && row.querySelector("input[type=checkbox]")) row.querySelector("input[type=checkbox]").click();
    else if (event.key === "A") document.getElementById("bulk").requestSubmit();
    else if (event.key === "/") document.querySelector(".filters input").focus();
    else return;
    event.preventDefault();
  });
})();
