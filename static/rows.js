// Progressive enhancement for repeatable form rows (headers, patterns, filter conditions):
// "Add" clones the last row empty, "✕" removes a row. Without JavaScript the server renders one
// spare empty row per list; rows left empty are dropped on submit, so the form never grows.
document.addEventListener("click", (event) => {
  const add = event.target.closest(".add-row");
  if (add) {
    const box = document.getElementById(add.dataset.target);
    const rows = box.querySelectorAll(".row");
    const last = rows[rows.length - 1];
    if (!last) return;
    const copy = last.cloneNode(true);
    copy.querySelectorAll("input").forEach((input) => { input.value = ""; input.removeAttribute("aria-invalid"); });
    box.appendChild(copy);
    const first = copy.querySelector("input");
    if (first) first.focus();
    return;
  }
  const remove = event.target.closest(".remove-row");
  if (remove) {
    const row = remove.closest(".row");
    const box = row.parentElement;
    if (box.querySelectorAll(".row").length > 1) {
      row.remove();
    } else {
      row.querySelectorAll("input").forEach((input) => { input.value = ""; });
    }
  }
});
