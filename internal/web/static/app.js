// cliprag's page: plain JavaScript that the server-rendered pages work
// without. It searches without reloading the page, opens results in a
// viewer, takes dropped and pasted images, and moves between results with
// the arrow keys. Every request goes to the same pages a browser without
// JavaScript gets; the parts that change are taken from the answer.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const viewer = $("#viewer");
  const body = viewer ? $(".viewer-body", viewer) : null;
  let current = null; // the result link whose image the viewer shows

  // showError puts a message in the alert region (empty hides it).
  function showError(msg) {
    const st = $("#status");
    st.textContent = msg || "";
    st.hidden = !msg;
  }

  // fetchPage loads a page as a document.
  async function fetchPage(url, opts) {
    const res = await fetch(url, Object.assign({ credentials: "same-origin" }, opts));
    const text = await res.text();
    const doc = new DOMParser().parseFromString(text, "text/html");
    if (!doc.querySelector("#main")) {
      throw new Error(text.trim() || res.status + " " + res.statusText);
    }
    return doc;
  }

  // swapResults replaces the results and the alert region with the ones
  // of doc, the answer to a search.
  function swapResults(doc) {
    const res = $("#results");
    const next = $("#results", doc);
    if (res && next) {
      res.replaceChildren(...next.childNodes);
    }
    const st = $("#status", doc);
    showError(st && !st.hidden ? st.textContent : "");
    document.title = doc.title;
  }

  // busy marks the page while a request runs.
  function busy(on) {
    document.body.classList.toggle("busy", on);
    const res = $("#results");
    if (res) res.setAttribute("aria-busy", on ? "true" : "false");
  }

  // syncForm makes the search form say what a GET URL searched for, so
  // that changing a filter next refines that search.
  function syncForm(url) {
    const form = $("#search");
    if (!form) return;
    const p = new URL(url, location.href).searchParams;
    for (const name of ["q", "tags", "folder", "min_score"]) {
      const el = form.elements[name];
      if (el) el.value = p.get(name) || "";
    }
    if (p.get("k")) form.elements.k.value = p.get("k");
    let sim = form.elements.similar;
    if (p.get("similar") && !p.get("q")) {
      if (!sim) {
        sim = document.createElement("input");
        sim.type = "hidden";
        sim.name = "similar";
        $(".filters", form).append(sim);
      }
      sim.value = p.get("similar");
    } else if (sim) {
      sim.remove();
    }
  }

  async function load(url, opts, push) {
    busy(true);
    try {
      const doc = await fetchPage(url, opts);
      swapResults(doc);
      if (!opts.method) syncForm(url);
      if (push) history.pushState({}, "", url);
    } catch (e) {
      showError(String(e.message || e));
    } finally {
      busy(false);
    }
  }

  // searchURL is the GET URL of the search form, without empty fields.
  function searchURL(form) {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (typeof v === "string" && v.trim() !== "") params.append(k, v);
    }
    const q = params.toString();
    return "/" + (q ? "?" + q : "");
  }

  // searchByImage posts an image with the current filters.
  function searchByImage(file) {
    const form = $("#search");
    if (!form || !file) return;
    const data = new FormData(form);
    data.delete("q");
    data.delete("similar");
    data.set("image", file, file.name || "pasted image");
    closeViewer();
    load("/", { method: "POST", body: data }, false);
  }

  function setupSearch() {
    const form = $("#search");
    if (!form) return;
    form.addEventListener("submit", (ev) => {
      const byImage = ev.submitter && ev.submitter.formMethod === "post";
      ev.preventDefault();
      if (byImage) {
        const f = $("#image").files[0];
        if (f) searchByImage(f);
        else showError("Image: choose, drop or paste an image to search by example");
        return;
      }
      const url = searchURL(form);
      if (url === "/") {
        showError("Search: type what the images should show");
        return;
      }
      load(url, {}, true);
    });
    $("#image").addEventListener("change", (ev) => searchByImage(ev.target.files[0]));
    window.addEventListener("popstate", () => load(location.pathname + location.search, {}, false));
  }

  // imageFrom returns the first image file of a DataTransfer.
  function imageFrom(dt) {
    if (!dt) return null;
    for (const f of dt.files || []) {
      if (f.type.startsWith("image/")) return f;
    }
    for (const it of dt.items || []) {
      if (it.kind === "file" && it.type.startsWith("image/")) return it.getAsFile();
    }
    return null;
  }

  // indexedID returns the id of an indexed image whose thumbnail, large
  // view or page was dragged from this page, or "".
  function indexedID(dt) {
    const u = dt && (dt.getData("text/uri-list") || dt.getData("text/plain"));
    if (!u) return "";
    try {
      const url = new URL(u.split("\n")[0].trim(), location.href);
      const m = url.origin === location.origin && url.pathname.match(/^\/(?:thumb|img|view|file)\/([^/]+)$/);
      return m ? decodeURIComponent(m[1]) : "";
    } catch (e) {
      return "";
    }
  }

  // fill puts file in a file input and shows it in its drop zone.
  function fill(input, file) {
    const dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
    const zone = input.closest(".drop");
    let img = $("img.example", zone);
    if (!img) {
      img = document.createElement("img");
      img.className = "example";
      zone.prepend(img);
    }
    img.alt = file.name || "pasted image";
    img.src = URL.createObjectURL(file);
  }

  // Dropping or pasting: on the search page the image is searched by
  // example; on the classify and compare pages it goes into the drop zone
  // it was dropped on (pasted: the focused one, else the first empty one).
  function setupDrop() {
    const zones = $$("[data-drop]");
    document.addEventListener("dragover", (ev) => {
      ev.preventDefault();
      document.body.classList.add("dragging");
    });
    document.addEventListener("dragleave", (ev) => {
      if (!ev.relatedTarget) document.body.classList.remove("dragging");
    });
    document.addEventListener("drop", (ev) => {
      ev.preventDefault();
      document.body.classList.remove("dragging");
      const f = imageFrom(ev.dataTransfer);
      if (!f) {
        // A result dragged from this page: find images like it.
        const id = indexedID(ev.dataTransfer);
        if (id && $("#search")) {
          closeViewer();
          load("/?similar=" + encodeURIComponent(id), {}, true);
        }
        return;
      }
      if ($("#search")) {
        searchByImage(f);
        return;
      }
      const zone = ev.target.closest && ev.target.closest("[data-drop]");
      const target = zone || zones.find((z) => !$("input[type=file]", z).files.length) || zones[0];
      if (target) fill($("input[type=file]", target), f);
    });
    document.addEventListener("paste", (ev) => {
      const f = imageFrom(ev.clipboardData);
      if (!f) return;
      ev.preventDefault();
      if ($("#search")) {
        searchByImage(f);
        return;
      }
      const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-drop]");
      const target = focused || zones.find((z) => !$("input[type=file]", z).files.length) || zones[0];
      if (target) fill($("input[type=file]", target), f);
    });
  }

  function hits() {
    return $$("#results .hit-link");
  }

  // openViewer shows a result's page in the viewer.
  async function openViewer(link) {
    if (!viewer) return;
    current = link;
    try {
      const doc = await fetchPage(link.getAttribute("href"));
      const detail = $("#detail", doc);
      if (!detail) {
        const st = $("#status", doc);
        throw new Error(st ? st.textContent : "the image could not be shown");
      }
      body.replaceChildren(detail);
      const all = hits();
      const i = all.indexOf(link);
      $(".prev", viewer).disabled = i <= 0;
      $(".next", viewer).disabled = i < 0 || i >= all.length - 1;
      if (!viewer.open) viewer.showModal();
      const first = $("[data-action=similar]", viewer);
      if (first) first.focus();
    } catch (e) {
      showError(String(e.message || e));
    }
  }

  function closeViewer() {
    if (viewer && viewer.open) viewer.close();
  }

  function step(by) {
    const all = hits();
    const i = all.indexOf(current);
    const next = all[i + by];
    if (next) openViewer(next);
  }

  function setupViewer() {
    if (!viewer) return;
    document.addEventListener("click", (ev) => {
      if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
      const link = ev.target.closest && ev.target.closest(".hit-link");
      if (link && $("#results") && $("#results").contains(link)) {
        ev.preventDefault();
        openViewer(link);
      }
    });
    $(".prev", viewer).addEventListener("click", () => step(-1));
    $(".next", viewer).addEventListener("click", () => step(1));
    viewer.addEventListener("close", () => {
      if (current && document.contains(current)) current.focus();
    });
    viewer.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowLeft") { ev.preventDefault(); step(-1); }
      if (ev.key === "ArrowRight") { ev.preventDefault(); step(1); }
    });
    // Inside the viewer, "similar" and tag links search this page.
    viewer.addEventListener("click", (ev) => {
      const a = ev.target.closest && ev.target.closest("a");
      if (!a || !$("#search")) return;
      if (a.dataset.action === "similar" || a.classList.contains("tag")) {
        ev.preventDefault();
        closeViewer();
        let url = a.getAttribute("href");
        if (a.classList.contains("tag")) {
          const tag = new URL(url, location.href).searchParams.get("tags");
          $("#tags").value = tag;
          $(".filters").open = true;
          url = searchURL($("#search"));
        }
        load(url, {}, true);
      }
    });
  }

  // Arrow keys move between results, by one, or by a row up and down.
  function setupKeys() {
    document.addEventListener("keydown", (ev) => {
      const t = ev.target;
      const typing = t.closest && t.closest("input, textarea, select, [contenteditable]");
      if (ev.key === "/" && !typing && !(viewer && viewer.open)) {
        const q = $("#q");
        if (q) { ev.preventDefault(); q.focus(); q.select(); }
        return;
      }
      if (typing || (viewer && viewer.open) || !t.classList || !t.classList.contains("hit-link")) return;
      const all = hits();
      const i = all.indexOf(t);
      let j = -1;
      if (ev.key === "ArrowRight") j = i + 1;
      else if (ev.key === "ArrowLeft") j = i - 1;
      else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        const top = all[0].offsetTop;
        let cols = all.findIndex((a) => a.offsetTop !== top);
        if (cols < 0) cols = all.length;
        j = ev.key === "ArrowDown" ? i + cols : i - cols;
      } else if (ev.key === "Home") j = 0;
      else if (ev.key === "End") j = all.length - 1;
      else return;
      ev.preventDefault();
      if (all[j]) all[j].focus();
    });
  }

  setupSearch();
  setupDrop();
  setupViewer();
  setupKeys();
})();
