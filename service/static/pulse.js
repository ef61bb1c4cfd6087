// Small comforts only; every page works without this file.
document.addEventListener("change", function (e) {
  var name = e.target.getAttribute("data-select-all");
  if (!name) return;
  document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) { box.checked = e.target.checked; });
});
document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
  var out = document.getElementById(area.getAttribute("data-counter"));
  var vn = function (n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); };   // «5.000», as the pages say
  var update = function () { out.textContent = vn(area.value.length) + " / " + vn(area.maxLength) + " ký tự"; };
  area.addEventListener("input", update);
  update();
});
document.querySelectorAll("form").forEach(function (form) {
  // a second tap while the first is on its way sends nothing more (the idempotency key also protects the store)
  form.addEventListener("submit", function () {
    if (form.method.toLowerCase() !== "post") return;
    setTimeout(function () { form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; }); }, 0);
  });
});
// the bell: its unread count refreshed every minute while the page is open (the page shows it without this)
(function () {
  var bell = document.getElementById("bell");
  if (!bell || !window.fetch) return;
  setInterval(function () {
    if (document.hidden) return;
    fetch("/alerts/unread.json", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var count = document.getElementById("bell-count");
        if (!data.unread) { if (count) count.remove(); return; }
        if (!count) { count = document.createElement("span"); count.className = "count"; count.id = "bell-count"; bell.appendChild(count); }
        count.textContent = data.unread < 100 ? String(data.unread) : "99+";
      }).catch(function () {});
  }, 60000);
})();
