"use strict";
// The Test tab: copy buttons, the expiry countdown, scopes that follow the
// chosen application, and the "Try it" panel. Minting works without it.
(function () {
    // Copy buttons: data-copy-target names the element whose text to copy.
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
        button.addEventListener("click", function () {
            const target = document.getElementById(button.dataset.copyTarget);
            const text = target.textContent.trim();
            const done = function () {
                const label = button.textContent;
                button.textContent = "Copied";
                setTimeout(function () { button.textContent = label; }, 1500);
            };
            if (navigator.clipboard && window.isSecureContext) {
                navigator.clipboard.writeText(text).then(done);
            } else {
                const range = document.createRange();
                range.selectNodeContents(target);
                const selection = window.getSelection();
                selection.removeAllRanges();
                selection.addRange(range);
                document.execCommand("copy");
                done();
            }
        });
    });

    // Expiry countdown.
    const countdown = document.getElementById("countdown");
    if (countdown) {
        const expiresAt = Number(countdown.dataset.expiresAt);
        const tick = function () {
            const left = Math.max(0, Math.round(expiresAt - Date.now() / 1000));
            const hours = Math.floor(left / 3600);
            const minutes = Math.floor((left % 3600) / 60);
            const seconds = left % 60;
            countdown.textContent = left > 0
                ? "expires in " + hours + " h " + minutes + " min " + seconds + " s"
                : "expired";
        };
        tick();
        setInterval(tick, 1000);
    }

    // Scopes follow the chosen application: only its granted scopes can be
    // ticked, and all of them are ticked when it is chosen.
    const scopeMapElement = document.getElementById("scope-map");
    const applicationSelect = document.getElementById("id_application");
    if (scopeMapElement && applicationSelect) {
        const scopeMap = JSON.parse(scopeMapElement.textContent);
        const boxes = document.querySelectorAll("#mint-form input[name=scopes]");
        const follow = function (tickAll) {
            const granted = scopeMap[applicationSelect.value] || [];
            boxes.forEach(function (box) {
                const allowed = granted.includes(box.value);
                box.disabled = !allowed;
                if (!allowed) {
                    box.checked = false;
                } else if (tickAll) {
                    box.checked = true;
                }
            });
        };
        applicationSelect.addEventListener("change", function () { follow(true); });
        const submitted = document.getElementById("minted") !== null;
        follow(!submitted && !document.querySelector("#mint-form .errorlist"));
    }

    // Try it: call the ping API with the minted token, and explain the response.
    const panel = document.getElementById("try-it");
    if (!panel) {
        return;
    }
    const token = panel.dataset.token;
    const show = function (id, text) {
        document.getElementById(id).textContent = text;
    };
    const attribute = function (challenge, name) {
        const match = challenge.match(new RegExp(name + '="([^"]*)"'));
        return match ? match[1] : null;
    };
    const explain = function (status, challenge, body) {
        if (status >= 200 && status < 300) {
            return status + ": the API accepted the request.";
        }
        if (status === 401) {
            const description = attribute(challenge, "error_description");
            return description
                ? "401: the API rejected the token. " + description
                : "401: the API saw no token.";
        }
        if (status === 403) {
            const scope = attribute(challenge, "scope");
            return scope
                ? "403: the token lacks " + scope + ". Tick it above and mint again; "
                    + "if the application is not granted it, grant it on the "
                    + "Machine to Machine Applications tab first."
                : "403: the token may not do this.";
        }
        if (status === 400) {
            return "400: the request was invalid: " + JSON.stringify(body);
        }
        return status + ": unexpected answer.";
    };

    panel.querySelectorAll("button[data-path]").forEach(function (button) {
        button.addEventListener("click", async function () {
            const options = {
                method: button.dataset.method,
                headers: { "Authorization": "Bearer " + token },
                // The API must judge the token alone, never the admin session.
                credentials: "omit",
            };
            if (options.method === "POST") {
                options.headers["Content-Type"] = "application/json";
                options.body = JSON.stringify({
                    text: document.getElementById("try-it-text").value,
                });
            }
            const response = await fetch(button.dataset.path, options);
            const text = await response.text();
            let body = text;
            try {
                body = JSON.parse(text);
            } catch (error) {
                // Not JSON: show the text as it came.
            }
            const challenge = response.headers.get("WWW-Authenticate") || "";
            show("try-it-status", response.status + " " + response.statusText);
            show("try-it-challenge", challenge || "(none)");
            show("try-it-body", typeof body === "string" ? body : JSON.stringify(body, null, 2));
            show("try-it-explanation", explain(response.status, challenge, body));
            document.getElementById("try-it-result").hidden = false;
        });
    });
})();
