// Drag an approved post onto a free slot: the page's own move form (which works without this script) is
// filled in with the post and the slot, and sent as if picked by hand.
(() => {
  const form = document.getElementById("move-form");
  if (!form) return;
  const postSelect = form.elements.namedItem("post_id");
  const slotSelect = form.elements.namedItem("slot");
  const offered = (select, value) => [...select.options].some((option) => option.value === value);
  let dragged = null;

  document.querySelectorAll(".cal-post[draggable=true]").forEach((chip) => {
    chip.addEventListener("dragstart", (event) => {
      dragged = chip.dataset.post;
      event.dataTransfer.setData("text/plain", dragged);
      event.dataTransfer.effectAllowed = "move";
      chip.classList.add("dragging");
      document.body.classList.add("cal-dragging");
    });
    chip.addEventListener("dragend", () => {
      chip.classList.remove("dragging");
      document.body.classList.remove("cal-dragging");
    });
  });

  document.querySelectorAll(".cal-free[data-slot]").forEach((slot) => {
    slot.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();  // marks the slot as a place to drop
      event.dataTransfer.dropEffect = "move";
      slot.classList.add("drop-here");
    });
    slot.addEventListener("dragleave", () => slot.classList.remove("drop-here"));
    slot.addEventListener("drop", (event) => {
      event.preventDefault();
      slot.classList.remove("drop-here");
      const post = event.dataTransfer.getData("text/plain") || dragged;
      dragged = null;
      if (!offered(postSelect, post) || !offered(slotSelect, slot.dataset.slot)) return;
      postSelect.value = post;
      slotSelect.value = slot.dataset.slot;
      form.requestSubmit();
    });
  });
})();
