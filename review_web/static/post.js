// The post page from the keyboard: a approve, r reject, e edit, n/p next/previous in review, ? help.
// Approving a post whose checks fail asks for a reason first (the server refuses it without one too).
// While editing, the channel cards follow the text: the server fits it (POST /posts/N/preview, the
// publishers' own code), this script only redraws the parts and their counters. Without JavaScript
// the form still saves and the page shows the new cards.
(() => {
  const byId = (id) => document.getElementById(id);
  const form = byId("approve-form");
  const confirmBox = byId("confirm-approve");
  const help = byId("keys-help");

  const askForReason = () => {
    if (!confirmBox.open) confirmBox.showModal();
    byId("override").required = true;
    byId("override").focus();
  };
  if (form && confirmBox) {
    form.addEventListener("submit", (event) => {
      if (!byId("override").value.trim()) {
        event.preventDefault();
        askForReason();
      }
    });
    byId("confirm-cancel").addEventListener("click", () => {
      byId("override").required = false;
      confirmBox.close();
    });
  }
  byId("show-keys").addEventListener("click", () => help.showModal());
  byId("keys-close").addEventListener("click", () => help.close());
  // A closed dialog may leave focus on its button, where the keys below are ignored: give it back to the page.
  help.addEventListener("close", () => { if (help.contains(document.activeElement)) document.activeElement.blur(); });

  const go = (id) => { const link = byId(id); if (link) window.location = link.href; };
  const edit = () => {
    const panel = byId("edit");
    if (!panel) return;
    panel.open = true;
    panel.scrollIntoView({block: "start"});
    panel.querySelector("textarea[name=caption]").focus();
  };
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea, dialog") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "a" && form) form.requestSubmit(byId("approve"));
    else if (event.key === "r" && byId("reject-reason")) byId("reject-reason").focus();
    else if (event.key === "e") edit();
    else if (event.key === "n") go("next-post");
    else if (event.key === "p") go("prev-post");
    else if (event.key === "?") help.showModal();
    else return;
    event.preventDefault();
  });

  // Live previews: every card redrawn from the server's fitting, a quarter second after the last key.
  const editor = byId("edit-form");
  const state = byId("preview-state");
  if (!editor || !state) return;
  const cards = [...document.querySelectorAll("#previews .card")];
  let timer = null;
  let asked = 0;

  const partBox = () => {
    const box = document.createElement("div");
    box.className = "part-box";
    const number = document.createElement("span");
    number.className = "part-no";
    const text = document.createElement("div");
    text.className = "body part";
    const counter = document.createElement("p");
    counter.className = "counter";
    box.append(number, text, counter);
    return box;
  };

  const redraw = (card, fitted) => {
    const error = card.querySelector(".card-error");
    error.textContent = fitted.error || "";
    error.hidden = !fitted.error;
    const count = fitted.parts.length;
    card.querySelector(".thread-count").textContent = count > 1 ? ` · thread of ${count}` : "";
    let boxes = [...card.querySelectorAll(".part-box")];
    while (boxes.length < count) {
      const box = partBox();
      card.append(box);
      boxes.push(box);
    }
    boxes.slice(Math.max(count, 1)).forEach((box) => box.remove());  // the first keeps the media
    if (!count && boxes[0]) {  // the channel cannot carry the text at all: its error says why
      boxes[0].querySelector(".part").textContent = "";
      boxes[0].querySelector(".counter").textContent = "";
    }
    fitted.parts.forEach((part, index) => {
      const box = boxes[index];
      box.querySelector(".part-no").textContent = `${index + 1}/${count}`;
      box.querySelector(".part-no").hidden = count < 2;
      box.querySelector(".part").textContent = part.text;
      const counter = box.querySelector(".counter");
      counter.textContent = `${part.length}${fitted.limit ? ` / ${fitted.limit}` : ""} characters`;
      counter.classList.toggle("over", part.over);
    });
  };

  const refresh = async () => {
    const mine = ++asked;
    state.textContent = "updating the previews…";
    let answer;
    try {
      answer = await fetch(editor.dataset.preview, {method: "POST", body: new URLSearchParams(new FormData(editor)), credentials: "same-origin"});
    } catch {
      state.textContent = "previews not updated: the desk did not answer";
      return;
    }
    if (mine !== asked) return;  // a later keystroke is already on its way
    const data = await answer.json().catch(() => ({}));
    if (mine !== asked) return;
    if (!answer.ok || !data.cards) {
      state.textContent = `previews not updated: ${data.detail || answer.statusText}`;
      return;
    }
    data.cards.forEach((fitted, index) => { if (cards[index]) redraw(cards[index], fitted); });
    const over = data.cards.filter((fitted) => fitted.parts.some((part) => part.over) || fitted.error).length;
    state.textContent = over ? `not saved · ${over} channel${over > 1 ? "s" : ""} over the limit` : "not saved · previews up to date";
  };
  editor.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
