// Starts Swagger UI for /docs (a file, so the page's CSP needs no inline script) and sends
// the token of this tab (the one the main page asked for) with every request, the spec's too.
"use strict";
(function () {
  let token = sessionStorage.getItem("ecg-token") || "";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null, // no badge from validator.swagger.io: nothing leaves this server
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: function (req) {
      if (token && !req.headers.Authorization && !req.headers["X-Token"]) {
        req.headers.Authorization = "Bearer " + token;
      }
      return req;
    },
    responseInterceptor: function (res) {
      if (res.status === 401 && res.url.endsWith("/openapi.json") && !token) {
        token = window.prompt("This server needs an access token:") || "";
        if (token) {
          sessionStorage.setItem("ecg-token", token);
          window.location.reload();
        }
      }
      return res;
    },
  });
})();
