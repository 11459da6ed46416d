// The header's disclosure menus (<details class="nav-menu">) work without this file; with it they behave like
// menus elsewhere: Escape closes the open one (focus back on its button), and a click outside or opening
// another closes it.
(function () {
  "use strict";
  function menus() { return document.querySelectorAll("details.nav-menu[open], .nav-menu details[open]"); }
  function closeAll(except) {
    menus().forEach(function (menu) { if (menu !== except) { menu.open = false; } });
  }
  document.addEventListener("toggle", function (event) {
    if (event.target.open && event.target.closest(".nav-menu")) { closeAll(event.target); }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".nav-menu")) { closeAll(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = event.target.closest && event.target.closest("details[open]");
    if (open && open.closest(".nav-menu")) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });
}());
