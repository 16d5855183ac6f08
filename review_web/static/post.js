// The post page from the keyboard: a approve, r reject, e edit, n/p next/previous in review, ? help.
// Approving a post whose checks fail asks for a reason first (the server refuses it without one too).
// While editing, the channel cards follow the text: the server fits it (POST /posts/N/preview, the
// publishers' own code), this script only redraws the parts and their counters; each card's own editor
// (one channel's text and first comment) redraws that card alone. Without JavaScript the forms still
// save and the page shows the new cards.
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
  // Keys typed into a field or an open dialog are theirs. A dialog just closed may still hold focus (its
  // close event comes later, and Chromium serves input first): a key there is the page's.
  const typedInto = (target) => target.closest("input, select, textarea, dialog[open]");
  document.addEventListener("keydown", (event) => {
    if (typedInto(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
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
  const cards = [...document.querySelectorAll("#previews .card")];

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
      card.insertBefore(box, card.querySelector(".comment-box"));  // the parts come before the first comment
      boxes.push(box);
    }
    boxes.slice(Math.max(count, 1)).forEach((box) => box.remove());  // the first keeps the media
    if (!count && boxes[0]) {  // the channel cannot carry the text at all: its error says why
      boxes[0].querySelector(".part").textContent = "";
      boxes[0].querySelector(".counter").textContent = "";
    }
    const counted = (counter, part) => {
      counter.textContent = `${part.length}${fitted.limit ? ` / ${fitted.limit}` : ""} characters`;
      counter.classList.toggle("over", part.over);
    };
    fitted.parts.forEach((part, index) => {
      const box = boxes[index];
      box.querySelector(".part-no").textContent = `${index + 1}/${count}`;
      box.querySelector(".part-no").hidden = count < 2;
      box.querySelector(".part").textContent = part.text;
      counted(box.querySelector(".counter"), part);
    });
    // After the parts: the first comment, then the channel's own editor with the whole text's count.
    const comment = card.querySelector(".comment-box");
    comment.hidden = !fitted.comment;
    if (fitted.comment) {
      comment.querySelector(".comment-text").textContent = fitted.comment.text;
      counted(comment.querySelector(".count"), fitted.comment);
    }
    const whole = card.querySelector(".channel-count");
    if (whole && fitted.length !== undefined) {
      whole.textContent = `${fitted.length}${fitted.limit ? ` / ${fitted.limit}` : ""} characters in all`;
      whole.classList.toggle("over", Boolean(fitted.error));
    }
  };

  // Each channel's own editor redraws its card alone (POST /posts/N/channels/NAME/preview).
  const follow = (form, state, onAnswer) => {
    let timer = null;
    let asked = 0;
    const refresh = async () => {
      const mine = ++asked;
      state.textContent = "updating the preview…";
      let answer;
      try {
        answer = await fetch(form.dataset.preview, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin"});
      } catch {
        state.textContent = "preview not updated: the desk did not answer";
        return;
      }
      if (mine !== asked) return;  // a later keystroke is already on its way
      const data = await answer.json().catch(() => ({}));
      if (mine !== asked) return;
      if (!answer.ok || !data.cards) {
        state.textContent = `preview not updated: ${data.detail || answer.statusText}`;
        return;
      }
      onAnswer(data.cards);
    };
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  };
  const over = (fitted) => fitted.parts.some((part) => part.over) || (fitted.comment && fitted.comment.over) || fitted.error;
  document.querySelectorAll(".channel-form").forEach((form) => {
    const card = form.closest(".card");
    const state = form.querySelector(".preview-state");
    follow(form, state, ([fitted]) => {
      redraw(card, fitted);
      state.textContent = over(fitted) ? "not saved · over the limit" : "not saved · preview up to date";
    });
  });

  const editor = byId("edit-form");
  const state = byId("preview-state");
  if (!editor || !state) return;

  follow(editor, state, (fitted) => {
    fitted.forEach((one, index) => { if (cards[index]) redraw(cards[index], one); });
    const count = fitted.filter(over).length;
    state.textContent = count ? `not saved · ${count} channel${count > 1 ? "s" : ""} over the limit` : "not saved · previews up to date";
  });
})();
