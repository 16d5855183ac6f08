// Keyboard review: move through the rows, open, select, approve, without the mouse.
(() => {
  const rows = [...document.querySelectorAll("#queue tbody tr")].filter((row) => row.querySelector("a"));
  let current = -1;
  const mark = (index) => {
    if (!rows.length) return;
    rows.forEach((row) => row.removeAttribute("aria-current"));
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].setAttribute("aria-current", "true");
    rows[current].scrollIntoView({block: "nearest"});
  };
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
