"use strict";
// Open /api/docs/#access_token=<JWT> to arrive authorized with that token.
// The token travels in the fragment, which browsers never send to the server,
// and is removed from the address bar before Swagger UI starts.
(function () {
    const match = window.location.hash.match(/^#access_token=([A-Za-z0-9\-._~+/]+=*)$/);
    if (!match) {
        return;
    }
    const token = match[1];
    history.replaceState(null, "", window.location.pathname + window.location.search);

    // `ui` is the Swagger UI instance that the page's next script creates.
    const authorizeWhenReady = function (attemptsLeft) {
        const schemes = typeof ui === "undefined"
            ? null
            : ui.getState().getIn(["spec", "json", "components", "securitySchemes"]);
        if (schemes && schemes.get("bearerAuth")) {
            ui.preauthorizeApiKey("bearerAuth", token);
        } else if (attemptsLeft > 0) {
            setTimeout(function () { authorizeWhenReady(attemptsLeft - 1); }, 100);
        }
    };
    authorizeWhenReady(150);
})();
