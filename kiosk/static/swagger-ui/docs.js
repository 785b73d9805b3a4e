// Starts Swagger UI on /schema. A file rather than an inline <script>, so the page works under
// the site's Content-Security-Policy (script-src 'self').
(() => {
  "use strict";
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // No call to validator.swagger.io: the docs stay offline.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
