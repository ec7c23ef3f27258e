// Request builder (docs page and the playground's text panel): pick a workflow, edit the body,
// copy cURL / Python (openai SDK) / JavaScript, run it live. Multipart workflows (transcription)
// send the JSON body's fields as form fields beside the chosen file.
// Stable ids: #builder-form, #builder-workflow, #builder-key, #builder-body, #builder-body-error,
//   #builder-file-field, #builder-file, #builder-method, #builder-path, #builder-run,
//   #builder-status, #builder-curl, #builder-python, #builder-js, #builder-copy-curl,
//   #builder-copy-python, #builder-copy-js, #builder-result,
//   #builder-result-meta, #builder-result-media, #builder-result-json;
//   data: #builder-workflows (json_script).
// The pasted key is only sent to this origin's /v1 (fetch, no cookies) and is never stored.
(function () {
  "use strict";

  var dataNode = document.getElementById("builder-workflows");
  if (!dataNode) {
    return;
  }
  var workflows = JSON.parse(dataNode.textContent);
  var $ = function (id) { return document.getElementById(id); };
  var picker = $("builder-workflow");
  var keyField = $("builder-key");
  var bodyField = $("builder-body");
  var bodyError = $("builder-body-error");
  var runButton = $("builder-run");
  var statusLine = $("builder-status");
  var result = $("builder-result");
  var resultMeta = $("builder-result-meta");
  var resultMedia = $("builder-result-media");
  var resultJson = $("builder-result-json");
  var origin = window.location.origin;
  var objectUrls = [];

  function current() {
    return workflows.filter(function (w) { return w.id === picker.value; })[0] || workflows[0];
  }

  function parsedBody() {
    try {
      bodyError.textContent = "";
      return JSON.parse(bodyField.value);
    } catch (error) {
      bodyError.textContent = "The body is not valid JSON: " + error.message;
      return undefined;
    }
  }

  function shellQuote(text) {
    return "'" + text.replace(/'/g, "'\\''") + "'";
  }

  function isMultipart(workflow) {
    return workflow.form === "multipart";
  }

  function formValue(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function curlSnippet(workflow, body) {
    var lines = ["curl -X " + workflow.method + " " + shellQuote(origin + workflow.path),
      "  -H \"Authorization: Bearer $OPENPROVIDER_API_KEY\""];
    if (isMultipart(workflow)) {
      lines.push("  -F " + shellQuote(workflow.file + "=@" + workflow.file_name));
      Object.keys(body).forEach(function (name) {
        lines.push("  -F " + shellQuote(name + "=" + formValue(body[name])));
      });
    } else if (workflow.method !== "GET") {
      lines.push("  -H \"Content-Type: application/json\"");
      lines.push("  -d " + shellQuote(JSON.stringify(body)));
    }
    if (workflow.result === "audio") {
      lines.push("  --output speech.mp3");
    }
    return lines.join(" \\\n");
  }

  // A JSON value as a Python literal (true/false/null differ; JSON strings are valid Python).
  function pyLiteral(value, indent) {
    var pad = "    ".repeat(indent + 1);
    var end = "    ".repeat(indent);
    if (value === null) {
      return "None";
    }
    if (value === true || value === false) {
      return value ? "True" : "False";
    }
    if (Array.isArray(value)) {
      if (!value.length) {
        return "[]";
      }
      return "[\n" + value.map(function (item) {
        return pad + pyLiteral(item, indent + 1) + ",\n";
      }).join("") + end + "]";
    }
    if (typeof value === "object") {
      var keys = Object.keys(value);
      if (!keys.length) {
        return "{}";
      }
      return "{\n" + keys.map(function (key) {
        return pad + JSON.stringify(key) + ": " + pyLiteral(value[key], indent + 1) + ",\n";
      }).join("") + end + "}";
    }
    return JSON.stringify(value);
  }

  var PYTHON_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

  function pyArguments(body) {
    return Object.keys(body).map(function (name) {
      return PYTHON_NAME.test(name)
        ? "    " + name + "=" + pyLiteral(body[name], 1) + ",\n"
        : "    extra_body={" + JSON.stringify(name) + ": " + pyLiteral(body[name], 2) + "},\n";
    }).join("");
  }

  function pythonSnippet(workflow, body) {
    var lines = [
      "import os",
      "",
      "from openai import OpenAI",
      "",
      "client = OpenAI(base_url=" + JSON.stringify(origin + "/v1") +
        ", api_key=os.environ[\"OPENPROVIDER_API_KEY\"])"
    ];
    var args = body ? pyArguments(body) : "";
    var call;
    if (!workflow.python) {
      // A route the SDK has no method for: its generic request helpers, answer as httpx.Response.
      lines.splice(2, 0, "import httpx");
      var path = JSON.stringify(workflow.path.replace(/^\/v1/, ""));
      call = workflow.method === "GET"
        ? "client.get(" + path + ", cast_to=httpx.Response)"
        : "client.post(\n    " + path + ",\n    cast_to=httpx.Response,\n    body=" +
          pyLiteral(body || {}, 1) + ",\n)";
    } else if (isMultipart(workflow)) {
      call = "client." + workflow.python + "(\n    file=open(" + JSON.stringify(workflow.file_name) +
        ", \"rb\"),\n" + args + ")";
    } else if (workflow.result === "audio") {
      lines.push("with client." + workflow.python.replace(/\.create$/, ".with_streaming_response.create") +
        "(\n" + args + ") as reply:");
      lines.push("    reply.stream_to_file(\"speech.mp3\")");
      return lines.join("\n");
    } else {
      call = "client." + workflow.python + "(" + (args ? "\n" + args : "") + ")";
    }
    lines.push("reply = " + call);
    if (workflow.python_print) {
      lines.push("print(" + workflow.python_print + ")");
    }
    return lines.join("\n");
  }

  function jsSnippet(workflow, body) {
    if (isMultipart(workflow)) {
      return jsMultipartSnippet(workflow, body);
    }
    var lines = [
      "const response = await fetch(" + JSON.stringify(origin + workflow.path) + ", {",
      "  method: " + JSON.stringify(workflow.method) + ",",
      "  headers: {",
      "    Authorization: `Bearer ${process.env.OPENPROVIDER_API_KEY}`,"
    ];
    if (workflow.method !== "GET") {
      lines.push("    \"Content-Type\": \"application/json\",");
      lines.push("  },");
      lines.push("  body: JSON.stringify(" + JSON.stringify(body, null, 2).replace(/\n/g, "\n  ") + "),");
    } else {
      lines.push("  },");
    }
    lines.push("});");
    lines.push(workflow.result === "audio"
      ? "const audio = new Blob([await response.arrayBuffer()], { type: response.headers.get(\"content-type\") });"
      : "const data = await response.json();");
    return lines.join("\n");
  }

  function jsMultipartSnippet(workflow, body) {
    var lines = [
      "const form = new FormData();",
      "form.append(" + JSON.stringify(workflow.file) + ", fileInput.files[0]); // an <input type=\"file\">"
    ];
    Object.keys(body).forEach(function (name) {
      lines.push("form.append(" + JSON.stringify(name) + ", " + JSON.stringify(formValue(body[name])) + ");");
    });
    lines.push("const response = await fetch(" + JSON.stringify(origin + workflow.path) + ", {");
    lines.push("  method: \"POST\",");
    lines.push("  headers: { Authorization: `Bearer ${process.env.OPENPROVIDER_API_KEY}` },");
    lines.push("  body: form,");
    lines.push("});");
    lines.push("const data = await response.json();");
    return lines.join("\n");
  }

  function refreshSnippets() {
    var workflow = current();
    var body = workflow.method === "GET" ? null : parsedBody();
    if (body === undefined) {
      return;
    }
    $("builder-curl").textContent = curlSnippet(workflow, body);
    $("builder-python").textContent = pythonSnippet(workflow, body);
    $("builder-js").textContent = jsSnippet(workflow, body);
  }

  function selectWorkflow() {
    var workflow = current();
    $("builder-method").textContent = workflow.method;
    $("builder-path").textContent = workflow.path;
    var hasBody = workflow.method !== "GET";
    $("builder-body-field").hidden = !hasBody;
    $("builder-file-field").hidden = !isMultipart(workflow);
    bodyField.value = hasBody ? JSON.stringify(workflow.body, null, 2) : "";
    bodyError.textContent = "";
    statusLine.textContent = workflow.available ? "" : "This server does not offer this route yet.";
    refreshSnippets();
  }

  function clearResult() {
    objectUrls.forEach(function (url) { URL.revokeObjectURL(url); });
    objectUrls = [];
    resultMedia.replaceChildren();
    resultJson.textContent = "";
    resultMeta.textContent = "";
  }

  function safeImageSource(item) {
    if (item.b64_json) {
      return "data:image/png;base64," + item.b64_json;
    }
    var url = String(item.url || "");
    return /^(https?:\/\/|\/)/.test(url) ? url : "";
  }

  function showImages(data) {
    (data.data || []).forEach(function (item, index) {
      var source = safeImageSource(item);
      if (!source) {
        return;
      }
      var image = document.createElement("img");
      image.src = source;
      image.alt = "Generated image " + (index + 1);
      image.className = "result-image";
      resultMedia.appendChild(image);
    });
  }

  function showAudio(blob) {
    var url = URL.createObjectURL(blob);
    objectUrls.push(url);
    var audio = document.createElement("audio");
    audio.controls = true;
    audio.src = url;
    audio.setAttribute("data-testid", "builder-audio");
    resultMedia.appendChild(audio);
    resultJson.textContent = "(" + blob.type + ", " + blob.size + " bytes)";
  }

  async function showStream(response) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) {
        return;
      }
      resultJson.textContent += decoder.decode(chunk.value, { stream: true });
    }
  }

  async function showResponse(response, workflow) {
    var type = response.headers.get("content-type") || "";
    var served = response.headers.get("x-openprovider-model");
    resultMeta.textContent = "HTTP " + response.status +
      " · request id " + (response.headers.get("x-request-id") || "—") +
      (served ? " · served by " + served + " via " + response.headers.get("x-openprovider-provider") : "");
    if (type.indexOf("application/json") !== -1) {
      var data = await response.json();
      resultJson.textContent = JSON.stringify(data, null, 2);
      if (response.ok && workflow.result === "image") {
        showImages(data);
      }
    } else if (type.indexOf("text/event-stream") !== -1) {
      await showStream(response);
    } else if (type.indexOf("audio/") === 0) {
      showAudio(await response.blob());
    } else {
      resultJson.textContent = await response.text();
    }
  }

  async function run() {
    var workflow = current();
    var key = keyField.value.trim();
    if (!key) {
      statusLine.textContent = "Paste an API key (opk_live_…) first.";
      keyField.focus();
      return;
    }
    var body = workflow.method === "GET" ? null : parsedBody();
    if (body === undefined) {
      bodyField.focus();
      return;
    }
    var init = {
      method: workflow.method,
      headers: { "Authorization": "Bearer " + key },
      credentials: "omit",
      cache: "no-store"
    };
    if (isMultipart(workflow)) {
      var file = $("builder-file").files[0];
      if (!file) {
        statusLine.textContent = "Choose an audio file first.";
        $("builder-file").focus();
        return;
      }
      var form = new FormData();
      form.append(workflow.file, file);
      Object.keys(body).forEach(function (name) { form.append(name, formValue(body[name])); });
      init.body = form; // the browser sets the multipart Content-Type and boundary
    } else if (body !== null) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    clearResult();
    result.hidden = false;
    runButton.disabled = true;
    statusLine.textContent = "Running…";
    try {
      var response = await fetch(workflow.path, init);
      await showResponse(response, workflow);
      statusLine.textContent = response.ok ? "Done."
        : response.status === 404 && !workflow.available
          ? "This server answered 404: it does not offer " + workflow.path + " yet."
          : "The request failed; see the error below.";
    } catch (error) {
      statusLine.textContent = "The request could not be sent: " + error.message;
    } finally {
      runButton.disabled = false;
    }
  }

  function copyFrom(id, button) {
    window.OpenProvider.copyText($(id).textContent).then(function (ok) {
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      button.textContent = ok ? "Copied" : "Copy failed";
      window.setTimeout(function () { button.textContent = label; }, 1500);
    });
  }

  picker.addEventListener("change", selectWorkflow);
  bodyField.addEventListener("input", refreshSnippets);
  $("builder-form").addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  $("builder-copy-curl").addEventListener("click", function (event) {
    copyFrom("builder-curl", event.currentTarget);
  });
  $("builder-copy-python").addEventListener("click", function (event) {
    copyFrom("builder-python", event.currentTarget);
  });
  $("builder-copy-js").addEventListener("click", function (event) {
    copyFrom("builder-js", event.currentTarget);
  });
  selectWorkflow();
})();
