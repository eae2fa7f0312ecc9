// /reset: the mailed link carries its token after "#" (/reset#token=…). Browsers never send that
// part to the server, so the token stays out of access logs, proxies and Referer headers; this
// copies it into the form's hidden field (posted in the body) and out of the address bar.
const field = document.getElementById("token");
const fromLink = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (fromLink) field.value = fromLink;
if (window.location.hash || window.location.search) {
  history.replaceState(null, "", window.location.pathname);
}
if (!field.value) document.getElementById("reset-no-token").classList.remove("d-none");
