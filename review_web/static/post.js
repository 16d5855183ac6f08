// The post page from the keyboard: a approve, r reject, e edit, n/p next/previous in review, ? help.
// Approving a post whose checks fail asks for a reason first (the server refuses it without one too).
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

  const go = (id) => { const link = byId(id); if (link) window.location = link.href; };
  const edit = () => {
    const panel = byId("edit");
    if (!panel) return;
    panel.open = true;
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
})();
