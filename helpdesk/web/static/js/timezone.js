// The browser's time zone preselected in a time zone select the server marked with data-browser-zone (the
// reader saved no zone of their own), instead of the desk's. Without JavaScript the server's choice stands.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }

  // The browser's own name for a zone: older ICU data names some zones by their former names
  // ("Asia/Calcutta" for the list's "Asia/Kolkata").
  function browserName(value) {
    try {
      return new Intl.DateTimeFormat("en", {timeZone: value}).resolvedOptions().timeZone;
    } catch (error) {
      return null;
    }
  }

  function pick(select) {
    var options = Array.prototype.slice.call(select.options);
    var found = options.find(function (option) { return option.value === zone; }) ||
      options.find(function (option) { return option.value && browserName(option.value) === zone; });
    if (found) {
      select.value = found.value;
    }
  }

  document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
    if (select.dataset.browserZonePicked) {
      return;  // each field's script runs this once more
    }
    select.dataset.browserZonePicked = "1";
    pick(select);
  });
})();
