/* Tenantry's small script: local times, the phone menu, the tenant switcher (type-ahead
   searched on the server, Ctrl/Cmd-K, arrow keys), and two form helpers. Every page
   works without it; this only makes the common paths quicker. */
"use strict";

// Before the first paint (loaded without defer): styles for scripted pages apply at once.
document.documentElement.classList.add("js");

(function () {
  // ---- times: server renders UTC <time datetime>; show the viewer's zone, named.
  function localiseTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var timeOnly = el.getAttribute("data-local") === "time";
      var options = timeOnly
        ? { hour: "2-digit", minute: "2-digit", timeZoneName: "short" }
        : { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
      el.title = el.getAttribute("datetime");
      el.textContent = new Intl.DateTimeFormat(undefined, options).format(when);
    });
  }

  // ---- phone: the sidebar hides behind the Menu button.
  function setUpMenu() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var sidebar = document.getElementById("sidebar");
    if (!toggle || !sidebar) return;
    toggle.addEventListener("click", function () {
      var open = !sidebar.classList.contains("open");
      sidebar.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", String(open));
    });
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  // ---- the tenant switcher
  function setUpSwitcher() {
    var root = document.querySelector("[data-switcher]");
    if (!root) return;
    var opener = root.querySelector("[data-switcher-open]");
    var panel = document.getElementById("switcher-panel");
    var input = document.getElementById("switcher-q");
    var list = document.getElementById("switcher-list");
    var status = panel.querySelector(".switcher-status");
    var backdrop = root.querySelector("[data-switcher-backdrop]");
    var pageKey = document.body.getAttribute("data-page-key") || "";
    var recentKey = "tenantry.recent." + (document.body.getAttribute("data-user") || "");
    var current = {
      slug: opener.querySelector(".switcher-slug").textContent,
      display_name: opener.querySelector(".switcher-name").textContent,
      kind: document.body.classList.contains("kind-customer") ? "customer" : "home"
    };
    var options = [];
    var active = -1;
    var requestNo = 0;
    var timer = null;

    function switchTo(t) {
      // A switch is recorded (audit event, recently used), so it is a POST carrying the
      // CSRF token, as the forms without script are: one request, then the page.
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/t/" + encodeURIComponent(t.slug) + "/switch";
      form.hidden = true;
      [["csrf_token", csrfToken()], ["to", pageKey]].forEach(function (pair) {
        var field = document.createElement("input");
        field.type = "hidden";
        field.name = pair[0];
        field.value = pair[1];
        form.appendChild(field);
      });
      document.body.appendChild(form);
      form.submit();
    }

    function readRecent() {
      try { return JSON.parse(localStorage.getItem(recentKey) || "[]").slice(0, 5); } catch (e) { return []; }
    }
    function remember(t) {
      // Recent clients, per user, in this browser only: home is always listed first anyway.
      if (t.kind !== "customer") return;
      var recent = readRecent().filter(function (r) { return r.slug !== t.slug; });
      recent.unshift({ slug: t.slug, display_name: t.display_name, kind: t.kind });
      try { localStorage.setItem(recentKey, JSON.stringify(recent.slice(0, 5))); } catch (e) { /* private mode */ }
    }

    function setActive(i) {
      if (!options.length) { active = -1; input.removeAttribute("aria-activedescendant"); return; }
      active = (i + options.length) % options.length;
      options.forEach(function (o, n) { o.el.setAttribute("aria-selected", String(n === active)); });
      input.setAttribute("aria-activedescendant", options[active].el.id);
      options[active].el.scrollIntoView({ block: "nearest" });
    }

    function addGroup(label) {
      var li = document.createElement("li");
      li.className = "group-label";
      // A visual heading only: each option already says "Home" or "Client".
      li.setAttribute("role", "presentation");
      li.setAttribute("aria-hidden", "true");
      li.textContent = label;
      list.appendChild(li);
    }

    function addOption(t) {
      var li = document.createElement("li");
      li.id = "switcher-opt-" + options.length;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.className = "kind-" + t.kind;
      var badge = document.createElement("span");
      badge.className = "kind-badge";
      badge.textContent = t.kind === "home" ? "Home" : "Client";
      var name = document.createElement("span");
      name.className = "option-name";
      name.textContent = t.display_name;
      var slug = document.createElement("span");
      slug.className = "option-slug";
      slug.textContent = t.slug;
      li.append(badge, name, slug);
      if (t.status && t.status !== "active") {
        var st = document.createElement("span");
        st.className = "status-badge status-" + t.status;
        st.textContent = t.status;
        li.appendChild(st);
      }
      var index = options.length;
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
      li.addEventListener("click", function () { go(index); });
      options.push({ el: li, tenant: t });
      list.appendChild(li);
    }

    function show(items, query) {
      list.textContent = "";
      options = [];
      var seen = {};
      var home = items.filter(function (t) { return t.kind === "home"; });
      var clients = items.filter(function (t) { return t.kind === "customer"; });
      if (home.length) { addGroup("Home"); home.forEach(function (t) { seen[t.slug] = 1; addOption(t); }); }
      if (!query) {
        var recent = readRecent().filter(function (r) { return !seen[r.slug]; });
        if (recent.length) {
          addGroup("Recent");
          recent.forEach(function (t) { seen[t.slug] = 1; addOption(t); });
        }
      }
      clients = clients.filter(function (t) { return !seen[t.slug]; });
      if (clients.length) { addGroup(query ? "Clients" : "All clients"); clients.forEach(addOption); }
      input.setAttribute("aria-expanded", String(options.length > 0));
      status.textContent = options.length
        ? (query ? options.length + " matching" : "")
        : (query ? "No tenant matches “" + query + "”." : "No tenants.");
      setActive(0);
    }

    function search() {
      var query = input.value.trim();
      var mine = ++requestNo;
      fetch("/api/v1/me/tenants?limit=25&q=" + encodeURIComponent(query), {
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      }).then(function (page) {
        if (mine === requestNo) show(page.items, query);
      }).catch(function () {
        if (mine === requestNo) status.textContent = "Could not load tenants; use “Browse all tenants”.";
      });
    }

    function go(index) {
      var chosen = options[index];
      if (!chosen) return;
      remember(chosen.tenant);
      switchTo(chosen.tenant);
    }

    function open() {
      if (!panel.hidden) { input.focus(); input.select(); return; }
      // On a phone the panel sits inside the collapsed sidebar: open that first.
      var sidebar = document.getElementById("sidebar");
      var toggle = document.querySelector("[data-nav-toggle]");
      if (sidebar && toggle && getComputedStyle(toggle).display !== "none" && !sidebar.classList.contains("open")) {
        toggle.click();
      }
      panel.hidden = false;
      backdrop.hidden = false;
      opener.setAttribute("aria-expanded", "true");
      input.value = "";
      input.focus();
      search();
    }

    function close(returnFocus) {
      if (panel.hidden) return;
      panel.hidden = true;
      backdrop.hidden = true;
      opener.setAttribute("aria-expanded", "false");
      input.setAttribute("aria-expanded", "false");
      if (returnFocus) opener.focus();
    }

    opener.addEventListener("click", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return; // new tab: the full list
      ev.preventDefault();
      open();
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 120);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); setActive(active + 1); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); setActive(active - 1); }
      else if (ev.key === "Home" && options.length) { ev.preventDefault(); setActive(0); }
      else if (ev.key === "End" && options.length) { ev.preventDefault(); setActive(options.length - 1); }
      else if (ev.key === "Enter") { ev.preventDefault(); go(active); }
      else if (ev.key === "Escape") { ev.preventDefault(); close(true); }
      else if (ev.key === "Tab") { close(false); }
    });
    document.addEventListener("keydown", function (ev) {
      if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && (ev.key === "k" || ev.key === "K")) {
        ev.preventDefault();
        open();
      }
    });
    document.addEventListener("mousedown", function (ev) {
      if (!panel.hidden && !panel.contains(ev.target) && !opener.contains(ev.target)) close(false);
    });
    if (/Mac|iPhone|iPad/.test(navigator.platform || "")) {
      document.querySelectorAll("[data-mod-key]").forEach(function (k) { k.textContent = "⌘"; });
    }
    remember(current);
  }

  // ---- create form: show the slug the name will make (the server makes the same one).
  function slugify(name) {
    return name.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/g, "");
  }
  function setUpSlugPreview() {
    document.querySelectorAll("[data-slug-form]").forEach(function (form) {
      var source = form.querySelector("[data-slug-source]");
      var target = form.querySelector("[data-slug-target]");
      var hint = source && document.getElementById(source.id + "-hint");
      if (!source || !hint) return;
      function update() {
        var slug = slugify(source.value);
        hint.textContent = "The slug is made from it: " + (slug || "type a name") + ".";
        if (target) target.placeholder = slug;
      }
      source.addEventListener("input", update);
      update();
    });
  }

  // ---- destructive forms: the button waits until the slug is typed (the server checks too).
  function setUpConfirmSlug() {
    document.querySelectorAll("form[data-confirm-slug]").forEach(function (form) {
      var expected = form.getAttribute("data-confirm-slug");
      var input = form.querySelector("input[name=confirm_slug]");
      var button = form.querySelector("button[type=submit]");
      if (!input || !button) return;
      function update() {
        var ok = input.value.trim().toLowerCase() === expected;
        button.setAttribute("aria-disabled", String(!ok));
      }
      form.addEventListener("submit", function (ev) {
        if (button.getAttribute("aria-disabled") === "true") { ev.preventDefault(); input.focus(); }
      });
      input.addEventListener("input", update);
      update();
    });
  }

  // ---- a colour picker beside a text field writes into it (data-copy-to="<field id>").
  function setUpColourCopy() {
    document.querySelectorAll("input[data-copy-to]").forEach(function (picker) {
      var target = document.getElementById(picker.getAttribute("data-copy-to"));
      if (!target) return;
      picker.addEventListener("change", function () { target.value = picker.value; });
    });
  }

  function start() {
    localiseTimes(document);
    setUpMenu();
    setUpSwitcher();
    setUpSlugPreview();
    setUpConfirmSlug();
    setUpColourCopy();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
