// Starts Swagger UI on /api/docs; a file, not an inline script, so the CSP needs no exception.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: box.dataset.specUrl, domNode: box, deepLinking: true });
});
