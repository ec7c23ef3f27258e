// Playground: image generation (gallery), image analysis (URL or upload) and speech (player).
// Stable ids: #image-form, #image-prompt, #image-model, #image-size, #image-n, #image-submit,
//   #image-status, #image-error, #image-gallery, #image-gallery-empty;
//   #analyze-form, #analyze-model, #analyze-url, #analyze-file, #analyze-prompt,
//   #analyze-submit, #analyze-status, #analyze-error, #analyze-preview, #analyze-result,
//   #analyze-meta; #speech-form, #speech-model, #speech-voice, #speech-input, #speech-submit,
//   #speech-status, #speech-error, #speech-audio, #speech-meta; data: #speech-voices.
// Provider output is set as text; the analysis HTML is sanitized server-side (Markdown -> nh3).
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var objectUrls = {};

  function replaceObjectUrl(slot, blob) {
    if (objectUrls[slot]) {
      URL.revokeObjectURL(objectUrls[slot]);
    }
    objectUrls[slot] = blob ? URL.createObjectURL(blob) : null;
    return objectUrls[slot];
  }

  function servedText(data) {
    return data.model ? "Served by " + data.model + " via " + data.provider + "." : "";
  }

  async function errorMessage(response) {
    var type = response.headers.get("content-type") || "";
    if (type.indexOf("application/json") !== -1) {
      var data = await response.json();
      var error = data.error || {};
      var attempts = (error.attempts || []).map(function (a) {
        return a.model + ": " + (a.reason || a.status);
      });
      return (error.message || "The request failed.") +
        (attempts.length ? " (" + attempts.join("; ") + ")" : "");
    }
    if (response.redirected || response.status === 403) {
      return "Your session has ended. Reload the page and sign in again.";
    }
    return "The request failed (HTTP " + response.status + ").";
  }

  // Posts the form; calls onSuccess(response) for a 2xx, shows the error otherwise.
  function wire(prefix, validate, onSuccess) {
    var form = $(prefix + "-form");
    if (!form) {
      return;
    }
    var button = $(prefix + "-submit");
    var status = $(prefix + "-status");
    var errorLine = $(prefix + "-error");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var problem = validate();
      errorLine.textContent = problem || "";
      if (problem || button.disabled) {
        return;
      }
      button.disabled = true;
      status.textContent = "Working…";
      try {
        var response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { "Accept": "application/json, audio/*" }
        });
        if (response.ok) {
          await onSuccess(response);
          status.textContent = "Done.";
        } else {
          errorLine.textContent = await errorMessage(response);
          status.textContent = "";
        }
      } catch (error) {
        errorLine.textContent = "The connection failed. Check your network and try again.";
        status.textContent = "";
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- image generation ----------------------------------------------------------------
  wire("image", function () {
    return $("image-prompt").value.trim() ? "" : "Describe the image you want first.";
  }, async function (response) {
    var data = await response.json();
    var gallery = $("image-gallery");
    var prompt = $("image-prompt").value.trim();
    (data.images || []).slice().reverse().forEach(function (item) {
      var url = String(item.url || "");
      if (!/^(https?:\/\/|\/)/.test(url)) {
        return;
      }
      var entry = document.createElement("li");
      var figure = document.createElement("figure");
      var link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
      var image = document.createElement("img");
      image.src = url;
      image.alt = prompt;
      image.loading = "lazy";
      link.appendChild(image);
      var caption = document.createElement("figcaption");
      caption.textContent = prompt + " — " + data.model;
      figure.appendChild(link);
      figure.appendChild(caption);
      entry.appendChild(figure);
      gallery.insertBefore(entry, gallery.firstChild);
    });
    $("image-gallery-empty").hidden = gallery.children.length > 0;
  });

  // ---- image analysis -----------------------------------------------------------------
  function showPreview(source) {
    var preview = $("analyze-preview");
    preview.replaceChildren();
    if (!source) {
      return;
    }
    var image = document.createElement("img");
    image.src = source;
    image.alt = "The image to analyze";
    image.className = "result-image";
    preview.appendChild(image);
  }

  if ($("analyze-form")) {
    $("analyze-file").addEventListener("change", function (event) {
      var file = event.target.files[0];
      showPreview(file ? replaceObjectUrl("preview", file) : "");
    });
    $("analyze-url").addEventListener("change", function (event) {
      var url = event.target.value.trim();
      showPreview(/^https:\/\//.test(url) ? url : "");
    });
  }

  wire("analyze", function () {
    var hasUrl = $("analyze-url").value.trim() !== "";
    var hasFile = $("analyze-file").files.length > 0;
    if (hasUrl === hasFile) {
      return "Give an image URL or upload a file (one of the two).";
    }
    return $("analyze-prompt").value.trim() ? "" : "Ask a question about the image.";
  }, async function (response) {
    var data = await response.json();
    $("analyze-result").innerHTML = data.html; // sanitized server-side (Markdown -> nh3)
    $("analyze-meta").textContent = servedText(data);
  });

  // ---- speech -----------------------------------------------------------------------
  var voicesNode = $("speech-voices");
  var voices = voicesNode ? JSON.parse(voicesNode.textContent) : {};

  function fillVoices() {
    var select = $("speech-voice");
    var list = voices[$("speech-model").value] || [];
    select.replaceChildren();
    var fallback = document.createElement("option");
    fallback.value = "";
    fallback.textContent = "Default voice";
    select.appendChild(fallback);
    list.forEach(function (voice) {
      var option = document.createElement("option");
      option.value = voice;
      option.textContent = voice;
      select.appendChild(option);
    });
  }

  if ($("speech-form")) {
    $("speech-model").addEventListener("change", fillVoices);
    fillVoices();
  }

  wire("speech", function () {
    return $("speech-input").value.trim() ? "" : "Write the text to speak first.";
  }, async function (response) {
    var blob = await response.blob();
    var audio = $("speech-audio");
    audio.src = replaceObjectUrl("speech", blob);
    audio.hidden = false;
    var model = response.headers.get("x-openprovider-model");
    $("speech-meta").textContent = model
      ? "Served by " + model + " via " + response.headers.get("x-openprovider-provider") + "."
      : "";
    audio.focus();
  });
})();
