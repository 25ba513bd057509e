// The desk's ticket workspace, progressively enhanced: everything works without this script.
// Ctrl/Cmd+Enter sends; a template is inserted at the cursor; the "cannot be undone" box shows
// only for a final status; images open in a preview dialog.
(function () {
  "use strict";

  document.querySelectorAll("form[data-send-shortcut]").forEach(function (form) {
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("button.primary[type=submit]"));
      }
    });
  });

  // Collision warnings: the page's presence report says "replying" while the composer has text.
  var body = document.getElementById("id_body");
  var presenceState = document.getElementById("presence-state");
  if (body && presenceState) {
    var mark = function () { presenceState.value = body.value.trim() ? "replying" : "viewing"; };
    body.addEventListener("input", mark);
    mark();
  }

  var picker = document.getElementById("template-pick");
  if (picker) {
    picker.addEventListener("change", function () {
      if (!picker.value) return;
      var url = picker.dataset.templateUrl + "?template=" + encodeURIComponent(picker.value);
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.statusText);
          return response.text();
        })
        .then(function (text) {
          var body = document.getElementById("id_body");
          var start = body.selectionStart, end = body.selectionEnd;
          body.value = body.value.slice(0, start) + text + body.value.slice(end);
          body.focus();
          body.selectionStart = body.selectionEnd = start + text.length;
          picker.value = "";
        })
        .catch(function () { picker.setCustomValidity("The template could not be loaded."); picker.reportValidity(); });
    });
  }

  document.querySelectorAll("form[data-final-statuses]").forEach(function (form) {
    var finals = form.dataset.finalStatuses.split(" ");
    var select = form.querySelector("select[name=status]");
    var confirm = form.querySelector(".confirm");
    if (!select || !confirm) return;
    var update = function () { confirm.hidden = finals.indexOf(select.value) === -1; };
    select.addEventListener("change", update);
    update();
  });

  document.querySelectorAll("form").forEach(function (form) {
    var action = form.querySelector("select[name=action]");
    var confirm = form.querySelector(".confirm");
    if (!action || !confirm || !action.querySelector("option[value=merge]")) return;
    var update = function () { confirm.hidden = action.value !== "merge"; };
    action.addEventListener("change", update);
    update();
  });

  var dialog = document.getElementById("file-preview");
  if (dialog && dialog.showModal) {
    var image = dialog.querySelector("img");
    var pages = dialog.querySelector(".pdf-pages");
    var status = dialog.querySelector(".pdf-status");
    var opened = 0; // which preview is current: a slow PDF must not draw over the next one
    var show = function (link) {
      dialog.querySelector("#file-preview-name").textContent = link.textContent;
      dialog.querySelector("a.open").href = link.href;
      image.hidden = true;
      image.removeAttribute("src");
      pages.hidden = true;
      pages.textContent = "";
      status.textContent = "";
      dialog.showModal();
      return ++opened;
    };
    document.querySelectorAll("a[data-preview^='image/']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        show(link);
        image.src = link.href;
        image.alt = link.textContent;
        image.hidden = false;
      });
    });
    // PDFs are drawn by pdf.js (vendored) onto canvases: the file itself is served sandboxed
    // and unframeable, so the browser's own viewer cannot show it inside the page.
    var MAX_PAGES = 20;
    var pdfjs = null;
    var loadPdfjs = function () {
      if (!pdfjs) {
        pdfjs = import(dialog.dataset.pdfjs).then(function (lib) {
          lib.GlobalWorkerOptions.workerSrc = dialog.dataset.pdfjsWorker;
          return lib;
        });
      }
      return pdfjs;
    };
    document.querySelectorAll("a[data-preview='application/pdf']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var current = show(link);
        status.textContent = "Loading the PDF…";
        loadPdfjs().then(function (lib) {
          return lib.getDocument({
            url: link.href,
            isEvalSupported: false,
            standardFontDataUrl: dialog.dataset.pdfjsFonts,
          }).promise;
        }).then(function (pdf) {
          var count = Math.min(pdf.numPages, MAX_PAGES);
          var width = Math.max(pages.parentElement.clientWidth - 48, 320);
          pages.hidden = false;
          var draw = function (number) {
            if (current !== opened || number > count) return null;
            return pdf.getPage(number).then(function (page) {
              var base = page.getViewport({ scale: 1 });
              var ratio = window.devicePixelRatio || 1;
              var viewport = page.getViewport({ scale: (width / base.width) * ratio });
              var canvas = document.createElement("canvas");
              canvas.width = viewport.width;
              canvas.height = viewport.height;
              canvas.style.width = viewport.width / ratio + "px";
              canvas.setAttribute("role", "img");
              canvas.setAttribute("aria-label", "Page " + number + " of " + pdf.numPages);
              pages.appendChild(canvas);
              return page.render({ canvas: canvas, viewport: viewport }).promise;
            }).then(function () { return draw(number + 1); });
          };
          status.textContent = pdf.numPages > MAX_PAGES
            ? "Showing the first " + MAX_PAGES + " of " + pdf.numPages + " pages; open the file for the rest."
            : pdf.numPages + (pdf.numPages === 1 ? " page" : " pages");
          return draw(1);
        }).catch(function () {
          if (current !== opened) return;
          pages.hidden = true;
          status.textContent = "This PDF cannot be previewed here; open it in a new tab.";
        });
      });
    });
  }
})();
