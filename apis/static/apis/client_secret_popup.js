"use strict";
// On the client secret page opened from a "+" link: hand the new application
// back to the form that opened the popup, then close it.
document.getElementById("close-popup").addEventListener("click", function () {
    const data = JSON.parse(this.dataset.popupResponse);
    window.opener.dismissAddRelatedObjectPopup(window, data.value, data.obj);
});
