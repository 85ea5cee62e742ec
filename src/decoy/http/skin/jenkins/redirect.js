(function () {
  var el = document.getElementById("redirect");
  var url = el && el.getAttribute("data-redirect-url");
  if (url) { window.location.replace(url); }
})();
