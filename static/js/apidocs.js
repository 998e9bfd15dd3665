// Draw the API reference (/api/docs) from /api/v1/openapi.json with the vendored Swagger UI.
// "Try it out" with a signed-in session sends the page's CSRF token, as planner's own scripts do.
(function () {
  "use strict";
  const root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") return;
  const csrf = document.querySelector('meta[name="csrf-token"]');
  SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    requestInterceptor: function (request) {
      if (csrf && request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRFToken"] = csrf.content;
      }
      return request;
    },
  });
})();
