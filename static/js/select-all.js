// A header checkbox marked data-select-all ticks or clears every checkbox named "id" in its form.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) return;
  for (const other of box.form.querySelectorAll('input[type="checkbox"][name="id"]')) other.checked = box.checked;
});
