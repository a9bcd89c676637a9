// The Never Log settings page: plain JavaScript, no build step, no other server than
// /graphql. Everything the API returns is shown with textContent (through el() and
// append()), never as HTML. Lists are read a page at a time, never whole.
"use strict";

(() => {
  const TOKEN_KEY = "neverlog.token"; // sessionStorage: this browser tab only
  const PAGE_SIZE = 25;
  const AUDIT_PAGE = 20;

  const VIEWER = `query Viewer { viewer { user { id email name role } account { name accountListLimit personalListLimit } } }`;
  // What this server's schema offers beyond the first contract (asked once at sign-in; a
  // server that answers no introspection is taken to offer all of it).
  const FEATURES = `query Features {
    entry: __type(name: "NeverLogEntry") { fields { name } }
    importInput: __type(name: "ImportNeverLogListInput") { inputFields { name } }
    account: __type(name: "Account") { fields { name } }
    query: __type(name: "Query") { fields { name } }
    user: __type(name: "User") { fields { name } }
  }`;
  const has = { notes: true, dryRun: true, internalDomains: true, webhooks: true, invitations: true };
  let ENTRY_FIELDS = "id pattern kind createdAt note expiresAt";
  let LIST_PAGE = "";
  let LIST_CSV = "";
  function buildListQueries() {
    ENTRY_FIELDS = has.notes ? "id pattern kind createdAt note expiresAt" : "id pattern kind createdAt";
    if (has.actions) ENTRY_FIELDS += " action";
    LIST_PAGE = `query ListPage($scope: NeverLogScope!, $first: Int, $after: String, $search: String) {
    neverLogList(scope: $scope) {
      scope count limit remaining
      entries(first: $first, after: $after, search: $search) {
        totalCount
        edges { node { ${ENTRY_FIELDS} } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;
    LIST_CSV = `query ListCsv($scope: NeverLogScope!) {
    neverLogList(scope: $scope) { scope count limit remaining csv${has.notes ? "(extended: true)" : ""} }
  }`;
  }
  buildListQueries();

  async function detectFeatures(token) {
    let schema;
    try {
      schema = await gql(FEATURES, {}, token);
    } catch {
      return; // no introspection here: the whole next contract is assumed
    }
    const names = (type, key = "fields") => new Set(((type && type[key]) || []).map((f) => f.name));
    has.notes = names(schema.entry).has("note");
    has.dryRun = names(schema.importInput, "inputFields").has("dryRun");
    has.internalDomains = names(schema.account).has("internalDomains");
    has.webhooks = names(schema.query).has("webhookEndpoints");
    has.invitations = names(schema.user).has("hasSignedIn");
    buildListQueries();
  }
  const ADD = `mutation Add($input: AddNeverLogEntriesInput!) {
    addNeverLogEntries(input: $input) {
      added { pattern }
      alreadyListed
      userErrors { field message code }
    }
  }`;
  const REMOVE = `mutation Remove($input: RemoveNeverLogEntriesInput!) {
    removeNeverLogEntries(input: $input) {
      removedIds
      userErrors { field message code }
    }
  }`;
  const IMPORT = `mutation Import($input: ImportNeverLogListInput!) {
    importNeverLogList(input: $input) {
      addedCount removedCount alreadyListed
      userErrors { field message code }
    }
  }`;
  const EVALUATE = `query Evaluate($email: EmailInput!) {
    evaluateEmailLogging(email: $email) {
      channel neverLogApplies emailSent loggedCount neverLogCount
      recipients { address field outcome contactCreated matchedPattern matchedScope explanation }
    }
  }`;
  const INTERNAL_FIELDS = "usersDomainsAreInternal internalDomains { domain source }";
  const INTERNAL = `query Internal { viewer { account { ${INTERNAL_FIELDS} } } }`;
  const SET_INTERNAL = `mutation SetInternal($input: SetInternalDomainsInput!) {
    setInternalDomains(input: $input) {
      account { ${INTERNAL_FIELDS} }
      userErrors { field message code }
    }
  }`;
  const WEBHOOKS = `query Webhooks {
    webhookEndpoints {
      id url description enabled eventTypes
      deliveries(first: 5) {
        totalCount
        edges { node { id eventId eventType createdAt status attempts lastResponseStatus nextAttemptAt } }
      }
    }
  }`;
  const REDELIVER = `mutation Redeliver($input: RedeliverWebhookInput!) {
    redeliverWebhook(input: $input) {
      delivery { id status }
      userErrors { field message code }
    }
  }`;
  // Invitations: a super admin adds a user and hands them a one-time code; the user accepts
  // it here, without a token, and alone sees the token it makes.
  const USERS = `query Users { users(first: 100) { totalCount edges { node { id email name role hasSignedIn } } } }`;
  const ADD_USER = `mutation AddUser($input: AddUserInput!) {
    addUser(input: $input) {
      user { id email name }
      invitationCode
      userErrors { field message code }
    }
  }`;
  const INVITE_USER = `mutation InviteUser($input: InviteUserInput!) {
    inviteUser(input: $input) {
      user { id email name }
      invitationCode
      userErrors { field message code }
    }
  }`;
  const ACCEPT_INVITATION = `mutation AcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      token
      userErrors { field message code }
    }
  }`;
  const AUDIT = `query Audit($first: Int, $after: String) {
    auditEvents(first: $first, after: $after) {
      totalCount
      edges { node { id action createdAt summary patterns actor { email } } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

  const KINDS = {
    ADDRESS: "this address",
    DOMAIN: "every address at this domain",
    SUBDOMAINS: "every address at its subdomains",
  };
  const OUTCOMES = {
    LOGGED: "Logged",
    NEVER_LOG: "Never logged",
    INTERNAL: "Colleague",
    LOGGING_OFF: "Logging off",
    EXCLUDED: "Excluded",
    REPLY_TO_NEVER_LOG_THREAD: "Reply to a never-log thread",
    NO_CONTACT: "No contact",
    INVALID_ADDRESS: "Invalid address",
  };
  const FIELDS = { TO: "To", CC: "Cc", BCC: "Bcc" };
  const SCOPES = {
    PERSONAL: {
      id: "personal",
      title: "Your personal never-log list",
      name: "your personal list",
      hint: "Recipients of your own emails who are never logged.",
      file: "never-log-personal.csv",
    },
    ACCOUNT: {
      id: "account",
      title: "Account-wide never-log list",
      name: "the account-wide list",
      hint: "Recipients who are never logged for anybody in the account.",
      file: "never-log-account.csv",
    },
  };

  const $ = (id) => document.getElementById(id);
  let viewer = null;
  const lists = {}; // per scope: its section and what it shows
  let dialogScope = null;
  let importScope = null;
  let importPreviewed = null; // the input that the preview was made of
  let auditAfter = null;

  // -- helpers ------------------------------------------------------------------------

  /** An element with attributes and children; strings become text, never markup. */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    node.append(...children);
    return node;
  }

  /** Visible text, and more for screen readers, so that every control's name is its own. */
  function named(visible, more, after = "") {
    // What follows the hidden words (an ellipsis) is shown, and named with them.
    const shown = after ? el("span", { "aria-hidden": "true" }, after) : "";
    return [visible, el("span", { class: "visually-hidden" }, more + after), shown];
  }

  function say(message, kind = "info") {
    const status = $("status");
    status.textContent = message;
    status.dataset.kind = kind;
  }

  function feedback(node, message, kind = "info", ...extra) {
    node.dataset.kind = kind;
    node.replaceChildren(message, ...extra);
  }

  const isAdmin = () => viewer !== null && viewer.user.role === "SUPER_ADMIN";

  class ApiError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  /** POST a GraphQL request; the data, or an ApiError with the first error's message. */
  async function gql(query, variables = {}, token = sessionStorage.getItem(TOKEN_KEY)) {
    noteOwnChange(query, variables);
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new ApiError("The server cannot be reached. Try again in a moment.", "NETWORK");
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`The server answered ${response.status} without a GraphQL answer.`, "HTTP");
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      const code = (first.extensions && first.extensions.code) || "ERROR";
      throw new ApiError(first.message, code);
    }
    return body.data;
  }

  /** Patterns as the API splits them: commas, semicolons, line breaks. */
  function splitPatterns(text) {
    return text
      .split(/[,;\n]/)
      .map((item) => item.trim())
      .filter(Boolean);
  }

  /**
   * Recipients as a mail client writes them: separated by commas, semicolons or line
   * breaks, except inside a quoted display name or between angle brackets, so that
   * `"Smith, John" <john@x.com>` stays one recipient (the API reads each as one address).
   */
  function splitRecipients(text) {
    const recipients = [];
    let current = "";
    let quoted = false;
    let bracketed = false;
    for (let i = 0; i < text.length; i += 1) {
      const c = text[i];
      if (c === "\\" && quoted && i + 1 < text.length) {
        current += c + text[i + 1];
        i += 1;
        continue;
      }
      if (c === '"' && !bracketed) quoted = !quoted;
      else if (c === "<" && !quoted) bracketed = true;
      else if (c === ">" && !quoted) bracketed = false;
      if (!quoted && !bracketed && (c === "," || c === ";" || c === "\n")) {
        if (current.trim()) recipients.push(current.trim());
        current = "";
        continue;
      }
      current += c;
    }
    if (current.trim()) recipients.push(current.trim());
    return recipients;
  }

  /** RFC 4180 CSV: rows of cells. */
  function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < text.length; i += 1) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") {
        row.push(cell);
        cell = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i += 1;
        row.push(cell);
        rows.push(row);
        row = [];
        cell = "";
      } else cell += c;
    }
    if (cell || row.length) {
      row.push(cell);
      rows.push(row);
    }
    return rows;
  }

  /** A cell that the export guarded against spreadsheets (a leading apostrophe), as typed. */
  function unguard(cell) {
    return cell.startsWith("'") && /^'*[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
  }

  function formatDate(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? iso
      : date.toLocaleDateString("en-GB", { year: "numeric", month: "short", day: "numeric" });
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? iso
      : date.toLocaleString("en-GB", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  /** A token as pasted: without a "Bearer " in front, quotes or spaces around it. */
  function cleanToken(text) {
    return text.trim().replace(/^["']|["']$/g, "").replace(/^bearer\s+/i, "").trim();
  }

  function failed(error, where = null) {
    if (error.code === "UNAUTHENTICATED") {
      signOut();
      $("token-error").textContent = "This token is no longer accepted (it may have been revoked). Paste another one.";
      $("token").focus();
      return;
    }
    if (where) feedback(where, error.message, "error");
    else say(error.message, "error");
  }

  // -- signing in -----------------------------------------------------------------------

  async function signIn(token) {
    let data;
    try {
      data = await gql(VIEWER, {}, token);
    } catch (error) {
      // The field keeps what was typed, so that a typo can be fixed.
      $("token").setAttribute("aria-invalid", "true");
      $("token-error").textContent =
        error.code === "UNAUTHENTICATED"
          ? "This token is not accepted: check that it is whole and has not been revoked."
          : error.message;
      $("token").focus();
      return false;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    viewer = data.viewer;
    await detectFeatures(token);
    await detectCaptureFeatures(token);
    for (const id of ["note", "expires"]) {
      for (const node of [$(id), $(id).previousElementSibling, $(`${id}-hint`)]) node.hidden = !has.notes;
    }
    $("import-preview-button").hidden = !has.dryRun;
    $("token").value = "";
    $("token").removeAttribute("aria-invalid");
    $("token-error").textContent = "";
    const { user, account } = viewer;
    const role = isAdmin() ? "super admin" : "user";
    $("who-text").replaceChildren("Signed in as ", el("strong", {}, user.email), ` (${role}) of ${account.name}.`);
    showSignedIn(true);
    for (const node of document.querySelectorAll(".admin-only")) node.hidden = !isAdmin();
    $("internal").hidden = !isAdmin() || !has.internalDomains;
    $("webhooks").hidden = !isAdmin() || !has.webhooks;
    $("users").hidden = !isAdmin() || !has.invitations;
    document.querySelector('.toc a[href="#users"]').parentElement.hidden = $("users").hidden;
    $("invitation-shown").hidden = true;
    document.querySelector('.toc a[href="#internal"]').parentElement.hidden = $("internal").hidden;
    document.querySelector('.toc a[href="#webhooks"]').parentElement.hidden = $("webhooks").hidden;
    for (const scope of Object.keys(SCOPES)) setUpList(scope);
    $("audit").querySelector(".audit-hint").textContent = isAdmin()
      ? "Changes to the account's lists, users and tokens, newest first."
      : "Your own changes, newest first.";
    await Promise.all([
      loadList("PERSONAL"),
      loadList("ACCOUNT"),
      loadAudit(true),
      isAdmin() && has.internalDomains ? loadInternal() : null,
      isAdmin() && has.webhooks ? loadWebhooks() : null,
      isAdmin() && has.invitations ? loadUsers() : null,
      loadCapture(),
    ]);
    startLive(token);
    return true;
  }

  function signOut() {
    stopLive();
    sendPendingRemovals();
    sessionStorage.removeItem(TOKEN_KEY);
    viewer = null;
    showSignedIn(false);
    say("");
  }

  function showSignedIn(signedIn) {
    $("sign-in").hidden = signedIn;
    for (const id of ["who", "try", "audit"]) $(id).hidden = !signedIn;
    if (!signedIn) {
      $("internal").hidden = true;
      $("webhooks").hidden = true;
      $("users").hidden = true;
      $("capture").hidden = true;
      $("users-table").querySelector("tbody").replaceChildren();
      $("invitation-shown").hidden = true;
      $("invitation-shown-code").textContent = ""; // a code is shown once, to its maker
      $("decision").hidden = true;
      $("lists").replaceChildren();
      for (const key of Object.keys(lists)) delete lists[key];
      $("audit-table").querySelector("tbody").replaceChildren();
    }
  }

  // -- the lists ------------------------------------------------------------------------

  function setUpList(scope) {
    const meta = SCOPES[scope];
    const section = $("list-template").content.firstElementChild.cloneNode(true);
    section.id = meta.id;
    section.dataset.scope = scope;
    section.setAttribute("aria-labelledby", `${meta.id}-title`);
    const title = section.querySelector(".list-title");
    title.id = `${meta.id}-title`;
    title.textContent = meta.title;
    const editable = scope === "PERSONAL" || isAdmin();
    const add = section.querySelector(".add-button");
    add.append(...named("Add", ` to ${meta.name}`, "…"));
    add.hidden = !editable;
    const importButton = section.querySelector(".import-button");
    importButton.append(...named("Import CSV", ` into ${meta.name}`, "…"));
    importButton.hidden = !editable;
    section.querySelector(".export-button").append(...named("Download CSV", ` of ${meta.name}`));
    section.querySelector(".list-hint").textContent = editable
      ? meta.hint
      : `${meta.hint} Your super admins keep it.`;
    const reason = section.querySelector(".limit-reason");
    reason.id = `${meta.id}-limit-reason`;
    add.setAttribute("aria-describedby", reason.id);
    const search = section.querySelector(".search");
    search.id = `${meta.id}-search`;
    const searchLabel = section.querySelector(".search-label");
    searchLabel.htmlFor = search.id;
    searchLabel.textContent = `Search ${meta.name}`;
    const sort = section.querySelector(".sort");
    sort.id = `${meta.id}-sort`;
    const sortLabel = section.querySelector(".sort-label");
    sortLabel.htmlFor = sort.id;
    sortLabel.textContent = `Sort ${meta.name} by`;
    section.querySelector("caption").textContent = `Entries of ${meta.name}`;
    section.querySelector(".empty").textContent = "No entries yet.";
    section.querySelector(".prev").append(...named("Previous page", ` of ${meta.name}`));
    section.querySelector(".next").append(...named("Next page", ` of ${meta.name}`));
    $("lists").append(section);

    const state = { scope, section, editable, page: 0, afters: [null], search: "", sort: "PATTERN", csv: null, rows: [], timer: null, undo: null, load: null };
    lists[scope] = state;
    add.addEventListener("click", () => openAdd(scope));
    importButton.addEventListener("click", () => openImport(scope));
    section.querySelector(".export-button").addEventListener("click", () => exportCsv(scope));
    search.addEventListener("input", () => {
      clearTimeout(state.timer);
      state.timer = setTimeout(() => {
        state.search = search.value.trim();
        state.page = 0;
        state.afters = [null];
        loadList(scope).catch((error) => failed(error, feedbackOf(scope)));
      }, 250);
    });
    sort.addEventListener("change", () => {
      state.sort = sort.value;
      state.page = 0;
      state.afters = [null];
      loadList(scope).catch((error) => failed(error, feedbackOf(scope)));
    });
    section.querySelector(".prev").addEventListener("click", () => turn(scope, -1));
    section.querySelector(".next").addEventListener("click", () => turn(scope, 1));
    setUpListActions(state);
  }

  const feedbackOf = (scope) => lists[scope].section.querySelector(".feedback");

  async function turn(scope, by) {
    const state = lists[scope];
    state.page = Math.max(0, state.page + by);
    try {
      await loadList(scope);
    } catch (error) {
      failed(error, feedbackOf(scope));
      return;
    }
    const button = state.section.querySelector(by > 0 ? ".next" : ".prev");
    // Keep the focus on the button pressed; at the first or last page, on the other one.
    const other = state.section.querySelector(by > 0 ? ".prev" : ".next");
    (button.disabled ? other : button).focus();
  }

  /**
   * One page of the list: from the API's connection (by pattern), or from its CSV (by
   * date). Only the newest load of a list draws it: a load that a newer one overtook (a
   * filter or a page chosen while a read was under way, a live change) draws nothing and
   * answers the newest one's rows, so that an older read never draws over a newer choice.
   */
  function loadList(scope) {
    const state = lists[scope];
    const load = readList(scope, () => state.load !== load);
    state.load = load;
    return load;
  }

  async function readList(scope, overtaken) {
    const state = lists[scope];
    let list;
    let rows;
    let total;
    let hasNext;
    if (state.sort === "PATTERN" && !state.action) {
      state.csv = null;
      const data = await gql(LIST_PAGE, {
        scope,
        first: PAGE_SIZE,
        after: state.afters[state.page] || null,
        search: state.search || null,
      });
      if (overtaken()) return state.load;
      list = data.neverLogList;
      rows = list.entries.edges.map((edge) => edge.node);
      total = list.entries.totalCount;
      hasNext = list.entries.pageInfo.hasNextPage;
      state.afters[state.page + 1] = list.entries.pageInfo.endCursor;
    } else {
      // The connection is in pattern order: newest first comes from the list's CSV (one
      // field), paged here; only PAGE_SIZE rows are ever on the page.
      if (state.csv === null) {
        const data = await gql(LIST_CSV, { scope });
        if (overtaken()) return state.load;
        state.csvList = data.neverLogList;
        state.csv = csvEntries(data.neverLogList.csv);
      }
      list = state.csvList;
      const matching = csvMatching(state);
      total = matching.length;
      const start = state.page * PAGE_SIZE;
      rows = matching.slice(start, start + PAGE_SIZE);
      hasNext = start + PAGE_SIZE < total;
    }
    ({ list, rows, total } = withoutPending(state, list, rows, total));
    if (rows.length === 0 && state.page > 0) {
      // The last page emptied (a removal): show the one before.
      state.page -= 1;
      return loadList(scope);
    }
    state.rows = rows;
    showUsage(state, list);
    renderRows(state, rows);
    const start = state.page * PAGE_SIZE;
    const section = state.section;
    section.querySelector(".range").textContent = rangeText(state, start, rows.length, total);
    section.querySelector(".prev").disabled = state.page === 0;
    section.querySelector(".next").disabled = !hasNext;
    section.querySelector(".pager").hidden = total <= PAGE_SIZE && state.page === 0 && !state.search && !state.action;
    section.querySelector(".table-wrap").hidden = rows.length === 0;
    section.querySelector(".empty").hidden = list.count > 0;
    return rows;
  }

  function csvEntries(csv) {
    const rows = parseCsv(csv);
    const header = rows.shift() || [];
    const at = (name) => header.indexOf(name);
    const columns = { pattern: at("pattern"), kind: at("kind"), created: at("created_at"), note: at("note"), expires: at("expires_at") };
    return rows
      .filter((row) => row.length > 1 || (row[0] || "").trim())
      .map((row) => ({
        id: null,
        pattern: unguard(row[columns.pattern] || ""),
        kind: (row[columns.kind] || "").toUpperCase(),
        createdAt: row[columns.created] || "",
        note: columns.note >= 0 ? unguard(row[columns.note] || "") || null : null,
        expiresAt: columns.expires >= 0 ? row[columns.expires] || null : null,
        action: at("action") >= 0 ? row[at("action")] || "NEVER_LOG" : null,
      }))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.pattern < b.pattern ? -1 : 1));
  }

  function showUsage(state, list) {
    const section = state.section;
    section.querySelector(".usage").replaceChildren(
      el("span", { class: "count" }, `${list.count} of ${list.limit} entries`),
      ` · ${list.remaining} more allowed`,
    );
    const full = list.remaining <= 0;
    const add = section.querySelector(".add-button");
    add.disabled = full;
    const reason = section.querySelector(".limit-reason");
    reason.hidden = !full || !state.editable;
    reason.textContent = full
      ? `${SCOPES[state.scope].name[0].toUpperCase()}${SCOPES[state.scope].name.slice(1)} is full (${list.count} of ${list.limit} entries): remove entries to add others.`
      : "";
    state.remaining = list.remaining;
  }

  function renderRows(state, rows) {
    const tbody = state.section.querySelector("tbody");
    // The control of a row that has the focus keeps it when the rows are drawn again (a
    // live change, the reading after a change): the same control of the entry's new row.
    const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
    const row = focused && focused.closest("tr");
    const pattern = row ? row.dataset.pattern : null;
    const control = focused && focused.className ? focused.className.split(" ")[0] : null;
    tbody.replaceChildren(
      ...rows.map((entry) =>
        el(
          "tr",
          { "data-pattern": entry.pattern },
          el("td", { class: "pattern", "data-label": "Pattern" }, el("code", {}, entry.pattern)),
          el("td", { class: "kind", "data-label": "Matches" }, KINDS[entry.kind] || entry.kind),
          el("td", { class: "note", "data-label": "Note" }, entry.note || ""),
          el("td", { class: "added", "data-label": "Added" }, formatDate(entry.createdAt)),
          el("td", { class: "expires", "data-label": "Expires" }, entry.expiresAt ? formatDate(entry.expiresAt) : "Never"),
          el("td", { class: "row-actions" }, state.editable ? removeButton(state.scope, entry) : ""),
        ),
      ),
    );
    decorateRows(state, rows);
    if (pattern !== null && control) {
      const again = tbody.querySelector(`tr[data-pattern="${CSS.escape(pattern)}"] .${CSS.escape(control)}`);
      if (again) again.focus();
    }
  }

  function removeButton(scope, entry) {
    const button = el("button", { type: "button", class: "remove" }, ...named("Remove", ` ${entry.pattern} from ${SCOPES[scope].name}`));
    button.addEventListener("click", () =>
      scope === "ACCOUNT" ? confirmRemove(scope, entry, button) : removeLater(scope, entry, button),
    );
    return button;
  }

  /** The account-wide list applies to everybody: a removal there is confirmed in the row. */
  function confirmRemove(scope, entry, button) {
    const cell = button.parentElement;
    const confirm = el("button", { type: "button", class: "danger confirm" }, ...named("Remove for everyone", ` (${entry.pattern})`));
    const keep = el("button", { type: "button", class: "keep" }, ...named("Keep", ` ${entry.pattern}`));
    const question = el("span", { class: "confirm-question" }, `Remove ${entry.pattern} for the whole account?`);
    const before = [...cell.childNodes];
    const restore = () => {
      cell.replaceChildren(...before);
      button.focus();
    };
    keep.addEventListener("click", restore);
    for (const node of [confirm, keep]) {
      node.addEventListener("keydown", (event) => {
        if (event.key === "Escape") restore();
      });
    }
    confirm.addEventListener("click", () => removeEntry(scope, entry, confirm));
    cell.replaceChildren(question, confirm, keep);
    confirm.focus();
  }

  async function removeEntry(scope, entry, button) {
    const state = lists[scope];
    const index = state.rows.findIndex((row) => row.pattern === entry.pattern);
    button.disabled = true;
    const input = entry.id ? { scope, ids: [entry.id] } : { scope, patterns: [entry.pattern] };
    let payload;
    try {
      payload = (await gql(REMOVE, { input })).removeNeverLogEntries;
    } catch (error) {
      button.disabled = false;
      failed(error, feedbackOf(scope));
      return;
    }
    if (payload.userErrors.length) {
      button.disabled = false;
      feedback(feedbackOf(scope), payload.userErrors.map((e) => e.message).join(" "), "error");
      return;
    }
    const message = `Removed ${entry.pattern} from ${SCOPES[scope].name}.`;
    state.csv = null;
    loadAudit(true);
    feedback(feedbackOf(scope), message);
    await reloadAfterRemoval(scope, index);
  }

  /** The list read again after a removal, the focus where the person was: on the row that
   * took the removed one's place (or the search field of an emptied list). */
  async function reloadAfterRemoval(scope, index) {
    const state = lists[scope];
    let rows;
    try {
      rows = await loadList(scope);
    } catch (error) {
      failed(error, feedbackOf(scope));
      return;
    }
    const buttons = state.section.querySelectorAll("tbody button.remove");
    const next = buttons[Math.min(index, buttons.length - 1)];
    if (next && rows.length) next.focus();
    else state.section.querySelector(".search").focus();
  }

  async function exportCsv(scope) {
    const where = feedbackOf(scope);
    let csv;
    try {
      csv = (await gql(LIST_CSV, { scope })).neverLogList.csv;
    } catch (error) {
      failed(error, where);
      return;
    }
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
    const link = el("a", { href: url, download: SCOPES[scope].file, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    feedback(where, `Downloaded ${SCOPES[scope].file}.`);
  }

  // -- the add dialog -------------------------------------------------------------------

  function openAdd(scope) {
    dialogScope = scope;
    $("add-title").textContent = `Add to ${SCOPES[scope].name}`;
    for (const id of ["patterns", "note", "expires"]) {
      $(id).value = "";
      $(id).removeAttribute("aria-invalid");
    }
    $("patterns-errors").replaceChildren();
    $("action").value = "NEVER_LOG";
    $("add-dialog").showModal();
    $("patterns").focus();
  }

  function closeAdd() {
    $("add-dialog").close();
    if (dialogScope && lists[dialogScope]) {
      const add = lists[dialogScope].section.querySelector(".add-button");
      (add.disabled ? lists[dialogScope].section.querySelector(".search") : add).focus();
    }
  }

  /** The date input's day as the moment it starts, in this browser's time zone. */
  function startOfDay(value) {
    const [year, month, day] = value.split("-").map(Number);
    return new Date(year, month - 1, day).toISOString();
  }

  async function submitAdd(event) {
    event.preventDefault();
    const text = $("patterns").value;
    const errors = $("patterns-errors");
    if (!splitPatterns(text).length) {
      $("patterns").setAttribute("aria-invalid", "true");
      errors.replaceChildren(el("li", {}, "Type at least one address or domain."));
      $("patterns").focus();
      return;
    }
    const input = { scope: dialogScope, patterns: [text] };
    const note = $("note").value.trim();
    if (note) input.note = note;
    if ($("expires").value) input.expiresAt = startOfDay($("expires").value);
    if (has.actions) input.action = $("action").value;
    const submit = $("add-submit");
    submit.disabled = true;
    try {
      const payload = (await gql(ADD, { input })).addNeverLogEntries;
      if (payload.userErrors.length) {
        // Nothing was saved: the dialog keeps what was typed, with every refusal under it.
        let first = null;
        for (const e of payload.userErrors) {
          const field = (e.field || [])[1];
          const target = field === "note" ? "note" : field === "expiresAt" ? "expires" : "patterns";
          $(target).setAttribute("aria-invalid", "true");
          first = first || target;
        }
        errors.replaceChildren(...payload.userErrors.map((e) => el("li", { "data-code": e.code }, e.message)));
        $(first).focus();
        return;
      }
      const parts = [];
      if (payload.added.length) {
        parts.push(`Added ${payload.added.map((e) => e.pattern).join(", ")} to ${SCOPES[dialogScope].name}.`);
      }
      if (payload.alreadyListed.length) parts.push(`Already listed: ${payload.alreadyListed.join(", ")}.`);
      lists[dialogScope].csv = null;
      loadAudit(true);
      closeAdd();
      feedback(feedbackOf(dialogScope), parts.join(" "));
      await loadList(dialogScope);
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") {
        $("add-dialog").close();
        failed(error);
      } else {
        $("patterns").setAttribute("aria-invalid", "true");
        errors.replaceChildren(el("li", { "data-code": error.code }, error.message));
      }
    } finally {
      submit.disabled = false;
    }
  }

  // -- importing a CSV file -------------------------------------------------------------

  function openImport(scope) {
    importScope = scope;
    importPreviewed = null;
    $("import-title").textContent = `Import a CSV file into ${SCOPES[scope].name}`;
    $("import-file").value = "";
    $("import-text").value = "";
    $("import-preview").replaceChildren();
    $("import-errors").replaceChildren();
    $("import-confirm").disabled = has.dryRun;
    $("import-confirm").textContent = "Import";
    document.querySelector('input[name="import-mode"][value="MERGE"]').checked = true;
    $("import-dialog").showModal();
    $("import-file").focus();
  }

  function closeImport() {
    $("import-dialog").close();
    if (importScope && lists[importScope]) lists[importScope].section.querySelector(".import-button").focus();
  }

  async function importInput() {
    const file = $("import-file").files[0];
    const csv = file ? await file.text() : $("import-text").value;
    const mode = document.querySelector('input[name="import-mode"]:checked').value;
    return { scope: importScope, csv, mode };
  }

  function importChanged() {
    importPreviewed = null;
    $("import-confirm").disabled = has.dryRun;
    $("import-preview").replaceChildren();
    $("import-errors").replaceChildren();
    $("import-text").removeAttribute("aria-invalid");
  }

  /** A file and pasted text are two answers to one question: refused together, with why. */
  function importBoth() {
    if (!$("import-file").files.length || !$("import-text").value.trim()) return false;
    importChanged();
    $("import-text").setAttribute("aria-invalid", "true");
    feedback(
      $("import-preview"),
      "Choose a CSV file or paste the CSV, not both: clear the pasted text, or the file, first.",
      "error",
    );
    $("import-text").focus();
    return true;
  }

  async function previewImport() {
    if (importBoth()) return;
    const input = await importInput();
    const preview = $("import-preview");
    if (!input.csv.trim()) {
      feedback(preview, "Choose a CSV file or paste one first.", "error");
      return;
    }
    let payload;
    try {
      payload = (await gql(IMPORT, { input: { ...input, dryRun: true } })).importNeverLogList;
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") {
        $("import-dialog").close();
        failed(error);
      } else feedback(preview, error.message, "error");
      return;
    }
    const errors = payload.userErrors;
    const counts = el(
      "dl",
      { class: "counts" },
      el("dt", {}, "Added"), el("dd", { "data-count": "added" }, String(payload.addedCount)),
      el("dt", {}, "Removed"), el("dd", { "data-count": "removed" }, String(payload.removedCount)),
      el("dt", {}, "Already listed"), el("dd", { "data-count": "already" }, String(payload.alreadyListed.length)),
      el("dt", {}, "Errors"), el("dd", { "data-count": "errors" }, String(errors.length)),
    );
    const mode = input.mode === "MERGE" ? "merged into" : "replacing";
    feedback(
      preview,
      errors.length
        ? "This file cannot be imported as it is: nothing is saved while any line is refused."
        : `Preview of this file ${mode} ${SCOPES[importScope].name}: nothing is saved until you confirm.`,
      errors.length ? "error" : "info",
      counts,
    );
    $("import-errors").replaceChildren(...errors.map(importErrorItem));
    importPreviewed = errors.length ? null : JSON.stringify(input);
    const confirm = $("import-confirm");
    confirm.disabled = errors.length > 0;
    confirm.textContent = input.mode === "MERGE" ? "Import: merge" : "Import: replace the list";
    preview.focus();
  }

  async function submitImport(event) {
    event.preventDefault();
    if (importBoth()) return;
    const input = await importInput();
    if (has.dryRun && importPreviewed !== JSON.stringify(input)) {
      importChanged();
      feedback($("import-preview"), "The file or the mode changed: preview it again first.", "error");
      return;
    }
    let payload;
    try {
      payload = (await gql(IMPORT, { input: has.dryRun ? { ...input, dryRun: false } : input })).importNeverLogList;
    } catch (error) {
      feedback($("import-preview"), error.message, "error");
      return;
    }
    if (payload.userErrors.length) {
      $("import-errors").replaceChildren(...payload.userErrors.map(importErrorItem));
      return;
    }
    const scope = importScope;
    lists[scope].csv = null;
    loadAudit(true);
    closeImport();
    feedback(
      feedbackOf(scope),
      `Imported into ${SCOPES[scope].name}: ${payload.addedCount} added, ${payload.removedCount} removed, ${payload.alreadyListed.length} already listed.`,
    );
    await loadList(scope).catch((error) => failed(error, feedbackOf(scope)));
  }

  // -- trying an email ------------------------------------------------------------------

  async function submitEvaluate(event) {
    event.preventDefault();
    const email = {
      channel: $("channel").value,
      to: splitRecipients($("to").value),
      cc: splitRecipients($("cc").value),
      bcc: splitRecipients($("bcc").value),
      existingContacts: splitRecipients($("existing").value),
      logToCrm: $("log-to-crm").checked,
      createNewContacts: $("create-contacts").checked,
    };
    const error = $("evaluate-error");
    if (!readInbound(email)) return;
    if (!email.to.length && !email.cc.length && !email.bcc.length && !email.from) {
      error.textContent = "Type at least one recipient.";
      $("to").setAttribute("aria-invalid", "true");
      $("to").focus();
      return;
    }
    $("to").removeAttribute("aria-invalid");
    error.textContent = "";
    let decision;
    try {
      decision = (await gql(evaluateQuery(), { email })).evaluateEmailLogging;
    } catch (failure) {
      if (failure.code === "UNAUTHENTICATED") failed(failure);
      else error.textContent = failure.message;
      return;
    }
    showDecision(decision);
    showDecisionMore(decision);
  }

  // The summary's words for each outcome (singular, plural), in the order it counts them.
  const COUNTED = [
    ["LOGGED", "logged", "logged"],
    ["NEVER_LOG", "never logged", "never logged"],
    ["INTERNAL", "colleague", "colleagues"],
    ["INVALID_ADDRESS", "invalid", "invalid"],
    ["EXCLUDED", "excluded", "excluded"],
    ["LOGGING_OFF", "with logging off", "with logging off"],
    ["REPLY_TO_NEVER_LOG_THREAD", "reply to a never-log thread", "replies to a never-log thread"],
    ["NO_CONTACT", "without a contact", "without a contact"],
    ["AUTOMATED", "automated", "automated"],
  ];

  /** "3 logged, 4 never logged, 1 colleague, 2 invalid": every outcome present, counted,
   * in a fixed order (one this page does not know yet comes last, by its name). */
  function outcomeCounts(recipients) {
    const counts = new Map();
    for (const r of recipients) counts.set(r.outcome, (counts.get(r.outcome) || 0) + 1);
    const parts = [];
    for (const [outcome, one, many] of COUNTED) {
      const n = counts.get(outcome);
      if (n) parts.push(`${n} ${n === 1 ? one : many}`);
      counts.delete(outcome);
    }
    for (const [outcome, n] of counts) parts.push(`${n} ${outcome.toLowerCase().replaceAll("_", " ")}`);
    return parts.join(", ");
  }

  function showDecision(decision) {
    const total = decision.recipients.length;
    const recipients = total === 1 ? "recipient" : "recipients";
    const lists = decision.neverLogApplies
      ? "The never-log lists apply to this channel."
      : "The never-log lists do not apply to this channel.";
    const sent = decision.emailSent ? " The email is sent either way." : "";
    $("decision-summary").textContent = `${total} ${recipients}: ${outcomeCounts(decision.recipients)}. ${lists}${sent}`;
    const rows = decision.recipients.map((r) =>
      el(
        "tr",
        { "data-address": r.address, "data-outcome": r.outcome },
        el("td", { class: "address", "data-label": "Recipient" }, el("code", {}, r.address)),
        el("td", { "data-label": "Field" }, FIELDS[r.field] || r.field),
        el(
          "td",
          { class: "outcome", "data-label": "Outcome" },
          el("span", { class: `badge ${r.outcome.toLowerCase()}` }, OUTCOMES[r.outcome] || r.outcome),
        ),
        el("td", { class: "contact", "data-label": "Contact" }, r.contactCreated ? "Created" : ""),
        el("td", { class: "explanation", "data-label": "Why" }, r.explanation),
      ),
    );
    $("decision-table").querySelector("tbody").replaceChildren(...rows);
    $("decision").hidden = false;
  }

  // -- super admins: internal domains and webhooks --------------------------------------

  function showInternal(account) {
    $("internal-list").replaceChildren(
      ...(account.internalDomains.length
        ? account.internalDomains.map((d) =>
            el("li", { "data-domain": d.domain }, el("code", {}, d.domain), d.source === "USERS" ? " (a user's address)" : " (added)"),
          )
        : [el("li", {}, "None.")]),
    );
    $("internal-domains").value = account.internalDomains
      .filter((d) => d.source === "ADDED")
      .map((d) => d.domain)
      .join("\n");
    $("users-domains").checked = account.usersDomainsAreInternal;
  }

  async function loadInternal() {
    try {
      showInternal((await gql(INTERNAL)).viewer.account);
    } catch (error) {
      failed(error, $("internal-feedback"));
    }
  }

  async function saveInternal(event) {
    event.preventDefault();
    const where = $("internal-feedback");
    const input = { domains: splitPatterns($("internal-domains").value), usersDomainsAreInternal: $("users-domains").checked };
    let payload;
    try {
      payload = (await gql(SET_INTERNAL, { input })).setInternalDomains;
    } catch (error) {
      failed(error, where);
      return;
    }
    if (payload.userErrors.length) {
      $("internal-domains").setAttribute("aria-invalid", "true");
      feedback(where, payload.userErrors.map((e) => e.message).join(" "), "error");
      $("internal-domains").focus();
      return;
    }
    $("internal-domains").removeAttribute("aria-invalid");
    showInternal(payload.account);
    loadAudit(true);
    feedback(where, "Saved the internal domains.");
  }

  async function loadWebhooks() {
    const body = $("webhooks-body");
    let endpoints;
    try {
      endpoints = (await gql(WEBHOOKS)).webhookEndpoints;
    } catch (error) {
      failed(error, $("webhooks-feedback"));
      return;
    }
    if (!endpoints.length) {
      body.replaceChildren(el("p", { class: "empty" }, "No webhook endpoints yet (createWebhookEndpoint adds one)."));
      return;
    }
    body.replaceChildren(...endpoints.map(endpointCard));
  }

  function endpointCard(endpoint) {
    const deliveries = endpoint.deliveries.edges.map((edge) => edge.node);
    const rows = deliveries.map((d) => {
      const redeliver = el("button", { type: "button", class: "redeliver" }, ...named("Redeliver", ` ${d.eventType} of ${formatTime(d.createdAt)} (event ${d.eventId.slice(0, 12)}) to ${endpoint.url}`));
      redeliver.addEventListener("click", () => redeliverWebhook(d, redeliver));
      return el(
        "tr",
        { "data-delivery": d.id, "data-status": d.status },
        el("td", { "data-label": "When" }, formatTime(d.createdAt)),
        el("td", { "data-label": "Event" }, el("code", {}, d.eventType)),
        el("td", { "data-label": "Status" }, el("span", { class: `badge ${d.status.toLowerCase()}` }, d.status), d.lastResponseStatus ? ` (HTTP ${d.lastResponseStatus})` : ""),
        el("td", { "data-label": "Attempts" }, String(d.attempts)),
        el("td", { class: "row-actions" }, redeliver),
      );
    });
    return el(
      "article",
      { class: "endpoint", "data-url": endpoint.url },
      el("h3", {}, el("code", {}, endpoint.url)),
      el("p", { class: "hint" }, `${endpoint.enabled ? "Enabled" : "Disabled"} · ${endpoint.description || "no description"} · ${endpoint.eventTypes.join(", ")}`),
      deliveries.length
        ? el(
            "div",
            { class: "table-wrap" },
            el(
              "table",
              { class: "deliveries" },
              el("caption", { class: "visually-hidden" }, `Recent deliveries to ${endpoint.url}`),
              el("thead", {}, el("tr", {}, ...["When", "Event", "Status", "Attempts"].map((h) => el("th", { scope: "col" }, h)), el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Actions")))),
              el("tbody", {}, ...rows),
            ),
          )
        : el("p", { class: "empty" }, "No deliveries yet."),
      deliveries.length ? el("p", { class: "hint" }, `${deliveries.length} most recent of ${endpoint.deliveries.totalCount}.`) : "",
    );
  }

  async function redeliverWebhook(delivery, button) {
    const where = $("webhooks-feedback");
    button.disabled = true;
    let payload;
    try {
      payload = (await gql(REDELIVER, { input: { deliveryId: delivery.id } })).redeliverWebhook;
    } catch (error) {
      button.disabled = false;
      failed(error, where);
      return;
    }
    button.disabled = false;
    if (payload.userErrors.length) {
      feedback(where, payload.userErrors.map((e) => e.message).join(" "), "error");
      return;
    }
    feedback(where, `Sent ${delivery.eventType} again (event ${delivery.eventId}): it is ${payload.delivery.status.toLowerCase()}.`);
    // The table shows the new delivery: read again, with the focus on its row's button.
    await loadWebhooks();
    const again = $("webhooks-body").querySelector(`tr[data-delivery="${payload.delivery.id}"] button.redeliver`);
    (again || $("webhooks-body").querySelector("button.redeliver") || where).focus();
  }

  // -- invitations: accepting a code, and super admins' users ----------------------------

  let acceptedToken = null; // shown once, until its holder signs in with it

  async function acceptInvitation(event) {
    event.preventDefault();
    const input = $("invitation-code");
    const code = input.value.trim();
    if (!code) {
      $("invitation-error").textContent = "Paste the invitation code first.";
      input.focus();
      return;
    }
    let payload;
    try {
      payload = (await gql(ACCEPT_INVITATION, { input: { code, tokenName: "settings page" } }, "")).acceptInvitation;
    } catch (error) {
      $("invitation-error").textContent = error.message;
      input.focus();
      return;
    }
    if (payload.userErrors.length) {
      input.setAttribute("aria-invalid", "true");
      $("invitation-error").textContent = payload.userErrors.map((e) => e.message).join(" ");
      input.focus();
      return;
    }
    acceptedToken = payload.token;
    input.value = "";
    input.removeAttribute("aria-invalid");
    $("invitation-error").textContent = "";
    $("invitation-form").hidden = true;
    $("new-token-value").textContent = acceptedToken;
    $("new-token").hidden = false;
    $("new-token").focus();
  }

  async function continueWithNewToken() {
    const token = acceptedToken;
    acceptedToken = null;
    $("new-token-value").textContent = "";
    $("new-token").hidden = true;
    $("invitation-form").hidden = false;
    $("invitation").open = false;
    if (token) await signIn(token);
  }

  function showInvitation(user, code) {
    $("invitation-for").replaceChildren("The invitation code for ", el("strong", {}, user.name), ` (${user.email}):`);
    $("invitation-shown-code").textContent = code;
    $("invitation-shown").hidden = false;
    $("invitation-shown").focus();
  }

  async function loadUsers() {
    let users;
    try {
      users = (await gql(USERS)).users.edges.map((edge) => edge.node);
    } catch (error) {
      failed(error, $("user-feedback"));
      return;
    }
    $("users-table").querySelector("tbody").replaceChildren(
      ...users.map((user) => {
        const actions = el("td", { class: "row-actions" });
        if (!user.hasSignedIn) {
          const again = el("button", { type: "button", class: "redeliver" }, ...named("New code", ` for ${user.email}`));
          again.addEventListener("click", () => inviteAgain(user, again));
          actions.append(again);
        }
        return el(
          "tr",
          { "data-user": user.email },
          el("td", { "data-label": "Name" }, user.name),
          el("td", { "data-label": "Email" }, user.email),
          el("td", { "data-label": "Role" }, user.role === "SUPER_ADMIN" ? "Super admin" : "User"),
          el("td", { "data-label": "Signed in" }, user.hasSignedIn ? "Yes" : "Not yet (invited)"),
          actions,
        );
      }),
    );
  }

  async function addUser(event) {
    event.preventDefault();
    const where = $("user-feedback");
    const input = { email: $("user-email").value.trim(), name: $("user-name").value.trim(), role: $("user-role").value };
    let payload;
    try {
      payload = (await gql(ADD_USER, { input })).addUser;
    } catch (error) {
      failed(error, where);
      return;
    }
    for (const id of ["user-email", "user-name"]) $(id).removeAttribute("aria-invalid");
    if (payload.userErrors.length) {
      const field = (payload.userErrors[0].field || []).at(-1) === "name" ? "user-name" : "user-email";
      $(field).setAttribute("aria-invalid", "true");
      feedback(where, payload.userErrors.map((e) => e.message).join(" "), "error");
      $(field).focus();
      return;
    }
    $("user-email").value = "";
    $("user-name").value = "";
    feedback(where, `Added ${payload.user.email}.`);
    await loadUsers();
    loadAudit(true);
    showInvitation(payload.user, payload.invitationCode);
  }

  async function inviteAgain(user, button) {
    const where = $("user-feedback");
    button.disabled = true;
    let payload;
    try {
      payload = (await gql(INVITE_USER, { input: { userId: user.id } })).inviteUser;
    } catch (error) {
      button.disabled = false;
      failed(error, where);
      return;
    }
    button.disabled = false;
    if (payload.userErrors.length) {
      feedback(where, payload.userErrors.map((e) => e.message).join(" "), "error");
      return;
    }
    feedback(where, `A new code for ${user.email}: earlier ones no longer work.`);
    loadAudit(true);
    showInvitation(payload.user, payload.invitationCode);
  }

  // -- what an entry does, changing it in place, undo, capture and inbound email ----------
  // (issue 25). Each part shows only where the server's schema offers it.

  Object.assign(has, { actions: true, updateEntries: true, accountSettings: true, mySettings: true, inbound: true, capture: true });
  const FEATURES_CAPTURE = `query FeaturesCapture {
    entry: __type(name: "NeverLogEntry") { fields { name } }
    account: __type(name: "Account") { fields { name } }
    user: __type(name: "User") { fields { name } }
    email: __type(name: "EmailInput") { inputFields { name } }
    decision: __type(name: "EmailLoggingDecision") { fields { name } }
    mutation: __type(name: "Mutation") { fields { name } }
  }`;
  const UPDATE_ENTRIES = `mutation UpdateEntries($input: UpdateNeverLogEntriesInput!) {
    updateNeverLogEntries(input: $input) {
      entries { id pattern action note expiresAt }
      userErrors { field message code }
    }
  }`;
  const FIND_ENTRY = `query FindEntry($scope: NeverLogScope!, $search: String, $after: String) {
    neverLogList(scope: $scope) {
      entries(first: 100, after: $after, search: $search) {
        edges { node { id pattern } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;
  const UPDATE_ACCOUNT_SETTINGS = `mutation UpdateAccountSettings($input: UpdateAccountSettingsInput!) {
    updateAccountSettings(input: $input) {
      account { defaultCapture skipAutomatedEmails automatedSenderNames }
      userErrors { field message code }
    }
  }`;
  const UPDATE_MY_SETTINGS = `mutation UpdateMySettings($input: UpdateMySettingsInput!) {
    updateMySettings(input: $input) {
      user { id defaultCapture }
      userErrors { field message code }
    }
  }`;
  const ACTIONS = {
    NEVER_LOG: "Never logged",
    LOG_SUBJECT_ONLY: "Subject only",
    LOG_METADATA_ONLY: "Metadata only",
  };
  const CAPTURES = {
    FULL: "Full",
    SUBJECT: "Subject only",
    METADATA: "Metadata only",
  };
  const CAPTURE_WORDS = {
    FULL: "in full (subject, body and attachments)",
    SUBJECT: "without the body (sender, recipients, date and subject)",
    METADATA: "without subject or body (sender, recipients and date)",
  };
  OUTCOMES.AUTOMATED = "Automated";
  FIELDS.FROM = "From";
  const UNDO_SECONDS = 10; // how long a removal from the personal list waits for Undo
  const pendingRemovals = new Map(); // per scope: { entry, timer, undo }
  let captureSettings = null; // the account's and the viewer's, as last read
  let editing = null; // { scope, entry } while the edit dialog is open

  async function detectCaptureFeatures(token) {
    let schema;
    try {
      schema = await gql(FEATURES_CAPTURE, {}, token);
    } catch {
      return; // no introspection here: the whole next contract is assumed
    }
    const names = (type, key = "fields") => new Set(((type && type[key]) || []).map((f) => f.name));
    const mutations = names(schema.mutation);
    has.actions = names(schema.entry).has("action");
    has.updateEntries = mutations.has("updateNeverLogEntries");
    has.accountSettings = names(schema.account).has("defaultCapture") && mutations.has("updateAccountSettings");
    has.mySettings = names(schema.user).has("defaultCapture") && mutations.has("updateMySettings");
    has.inbound = names(schema.email, "inputFields").has("direction") && names(schema.decision).has("automated");
    has.capture = names(schema.decision).has("limitedCount");
    buildListQueries();
  }

  /** What the page shows of issue 25, after what this server offers. */
  function showCaptureFeatures() {
    for (const node of [$("action"), $("action").previousElementSibling, $("action-hint")]) node.hidden = !has.actions;
    $("edit-action-field").hidden = !has.actions;
    $("direction-set").hidden = !has.inbound;
    showInboundFields();
  }

  // The lists: each entry's action, a filter by it, and Edit.

  function setUpListActions(state) {
    if (!has.actions) return;
    const meta = SCOPES[state.scope];
    const select = el(
      "select",
      { class: "action-filter", id: `${meta.id}-action-filter` },
      el("option", { value: "" }, "All entries"),
      ...Object.entries(ACTIONS).map(([value, label]) => el("option", { value }, label)),
    );
    const field = el("div", { class: "field" }, el("label", { for: select.id }, `Show in ${meta.name}`), select);
    state.section.querySelector(".list-controls").append(field);
    select.addEventListener("change", () => {
      state.action = select.value;
      state.page = 0;
      state.afters = [null];
      loadList(state.scope).catch((error) => failed(error, feedbackOf(state.scope)));
    });
    const head = state.section.querySelector("thead tr");
    head.insertBefore(el("th", { scope: "col" }, "Does"), head.children[2]);
    // A removal waiting for Undo is sent before anything else changes the list.
    for (const button of state.section.querySelectorAll(".add-button, .import-button")) {
      button.addEventListener("click", () => commitRemoval(state.scope));
    }
  }

  function decorateRows(state, rows) {
    const trs = state.section.querySelectorAll("tbody tr");
    rows.forEach((entry, i) => {
      const tr = trs[i];
      if (!tr) return;
      if (has.actions) {
        const action = entry.action || "NEVER_LOG";
        tr.dataset.action = action;
        tr.insertBefore(
          el("td", { class: "action", "data-label": "Does" }, el("span", { class: `badge ${action.toLowerCase()}` }, ACTIONS[action] || action)),
          tr.children[2],
        );
      }
      if (state.editable && has.updateEntries) {
        const edit = el("button", { type: "button", class: "edit" }, ...named("Edit", ` ${entry.pattern} on ${SCOPES[state.scope].name}`, "…"));
        edit.addEventListener("click", () => openEdit(state.scope, entry, edit));
        tr.querySelector(".row-actions").prepend(edit);
      }
    });
  }

  /** The entries of the list's CSV that the search and the filter keep, in the order chosen. */
  function csvMatching(state) {
    const needle = state.search.toLowerCase();
    const matching = state.csv.filter(
      (row) => (!needle || row.pattern.includes(needle)) && (!state.action || (row.action || "NEVER_LOG") === state.action),
    );
    return state.sort === "PATTERN" ? [...matching].sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0)) : matching;
  }

  function rangeText(state, start, shown, total) {
    const search = state.search ? ` matching “${state.search}”` : "";
    const action = state.action ? ` (${ACTIONS[state.action].toLowerCase()})` : "";
    if (total) return `Entries ${start + 1}–${start + shown} of ${total}${search}${action}`;
    if (state.search) return `No entry matches “${state.search}”${action}.`;
    if (state.action) return `No entry is ${ACTIONS[state.action].toLowerCase()}.`;
    return "";
  }

  // Editing an entry in place: its action, note and expiry (its pattern and added date stay).

  /** The date input's value for an instant: its day in this browser's time zone. */
  function dayOf(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  function openEdit(scope, entry, button) {
    commitRemoval(scope);
    editing = { scope, entry, button };
    $("edit-title").textContent = `Change ${entry.pattern}`;
    $("edit-added").textContent = `On ${SCOPES[scope].name} since ${formatDate(entry.createdAt)}: it stays there, with that date.`;
    $("edit-action").value = entry.action || "NEVER_LOG";
    $("edit-note").value = entry.note || "";
    $("edit-expires").value = dayOf(entry.expiresAt);
    for (const id of ["edit-action", "edit-note", "edit-expires"]) $(id).removeAttribute("aria-invalid");
    $("edit-errors").replaceChildren();
    $("edit-dialog").showModal();
    (has.actions ? $("edit-action") : $("edit-note")).focus();
  }

  function closeEdit() {
    if ($("edit-dialog").open) $("edit-dialog").close();
  }

  /** Back to the entry's Edit button once the dialog closes (also by Escape). */
  function editClosed() {
    if (!editing) return;
    const { scope, entry, button } = editing;
    editing = null;
    focusEdit(scope, entry, button);
  }

  /** An entry's ID: rows read from the CSV (sorted by date, filtered) carry none. */
  async function entryId(scope, entry) {
    if (entry.id) return entry.id;
    let after = null;
    for (;;) {
      const found = (await gql(FIND_ENTRY, { scope, search: entry.pattern, after })).neverLogList.entries;
      const match = found.edges.find((edge) => edge.node.pattern === entry.pattern);
      if (match) return match.node.id;
      if (!found.pageInfo.hasNextPage) return null;
      after = found.pageInfo.endCursor;
    }
  }

  function describeChange(input) {
    const parts = [];
    if (input.action) parts.push(`now ${ACTIONS[input.action].toLowerCase()}`);
    if ("note" in input) parts.push(input.note ? `note “${input.note}”` : "no note");
    if ("expiresAt" in input) parts.push(input.expiresAt ? `stops applying on ${formatDate(input.expiresAt)}` : "applies for ever");
    return parts.join(", ");
  }

  async function submitEdit(event) {
    event.preventDefault();
    if (!editing) return;
    const { scope, entry, button } = editing;
    const errors = $("edit-errors");
    const input = { scope };
    const action = $("edit-action").value;
    if (has.actions && action !== (entry.action || "NEVER_LOG")) input.action = action;
    const note = $("edit-note").value.trim();
    if (note !== (entry.note || "")) input.note = note || null;
    const day = $("edit-expires").value;
    if (day !== dayOf(entry.expiresAt)) input.expiresAt = day ? startOfDay(day) : null;
    const where = feedbackOf(scope);
    if (Object.keys(input).length === 1) {
      closeEdit();
      feedback(where, `Nothing changed: ${entry.pattern} is as it was.`);
      return;
    }
    const submit = $("edit-submit");
    submit.disabled = true;
    let payload;
    try {
      const id = await entryId(scope, entry);
      if (!id) {
        errors.replaceChildren(el("li", { "data-code": "NOT_FOUND" }, `${entry.pattern} is no longer on ${SCOPES[scope].name}.`));
        return;
      }
      payload = (await gql(UPDATE_ENTRIES, { input: { ...input, ids: [id] } })).updateNeverLogEntries;
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") {
        closeEdit();
        failed(error);
      } else errors.replaceChildren(el("li", { "data-code": error.code }, error.message));
      return;
    } finally {
      submit.disabled = false;
    }
    if (payload.userErrors.length) {
      // Nothing was changed: the dialog keeps what was typed, with the refusal under it.
      let first = null;
      for (const e of payload.userErrors) {
        const field = (e.field || [])[1];
        const target = field === "note" ? "edit-note" : field === "expiresAt" ? "edit-expires" : field === "action" ? "edit-action" : null;
        if (target) {
          $(target).setAttribute("aria-invalid", "true");
          first = first || target;
        }
      }
      errors.replaceChildren(...payload.userErrors.map((e) => el("li", { "data-code": e.code }, e.message)));
      if (first) $(first).focus();
      return;
    }
    if (!lists[scope]) return; // signed out meanwhile
    lists[scope].csv = null;
    feedback(where, `Changed ${entry.pattern}: ${describeChange(input)}.`);
    loadAudit(true);
    // The dialog closes before the list is read again, with the focus on the row's Edit
    // button: a reading of the list that starts meanwhile (a live change) keeps it there.
    const open = $("edit-dialog").open;
    if (open) {
      editing = null;
      $("edit-dialog").close();
      focusEdit(scope, entry, button);
    }
    await loadList(scope).catch((error) => failed(error, where));
    const lost = !document.activeElement || document.activeElement === document.body;
    if (open && lost) focusEdit(scope, entry, button); // the row was drawn again
  }

  function focusEdit(scope, entry, button) {
    if (button.isConnected) {
      button.focus();
      return;
    }
    const again = lists[scope] && lists[scope].section.querySelector(`tr[data-pattern="${CSS.escape(entry.pattern)}"] button.edit`);
    if (again) again.focus();
  }

  // Undo: a removal from the personal list is sent only when its undo window closes, so that
  // Undo leaves the entry as it was (its ID, added date, note, expiry and action). The window
  // stays open while the Undo button has the focus or the pointer; leaving the page, signing
  // out, or changing the list sends the removal at once.

  /** The list as it will be once the waiting removal is sent. */
  function withoutPending(state, list, rows, total) {
    const waiting = pendingRemovals.get(state.scope);
    if (!waiting) return { list, rows, total };
    const entry = waiting.entry;
    const shown = (!state.search || entry.pattern.includes(state.search.toLowerCase())) && (!state.action || (entry.action || "NEVER_LOG") === state.action);
    return {
      list: { ...list, count: list.count - 1, remaining: list.remaining + 1 },
      rows: rows.filter((row) => row.pattern !== entry.pattern),
      total: shown ? total - 1 : total,
    };
  }

  async function removeLater(scope, entry, button) {
    await commitRemoval(scope); // one removal waits at a time: an earlier one is sent first
    const state = lists[scope];
    const index = state.rows.findIndex((row) => row.pattern === entry.pattern);
    button.disabled = true;
    const undo = el("button", { type: "button", class: "undo" }, ...named("Undo", ` the removal of ${entry.pattern}`));
    const waiting = { entry, undo, timer: null };
    const close = () => {
      // Not while the person is on the Undo button: the window waits for them.
      if (undo.matches(":focus, :hover")) waiting.timer = setTimeout(close, UNDO_SECONDS * 1000);
      else commitRemoval(scope);
    };
    waiting.timer = setTimeout(close, UNDO_SECONDS * 1000);
    pendingRemovals.set(scope, waiting);
    undo.addEventListener("click", () => undoRemoval(scope));
    feedback(
      feedbackOf(scope),
      `Removed ${entry.pattern} from ${SCOPES[scope].name}. `,
      "info",
      undo,
      el("span", { class: "undo-hint" }, ` (for ${UNDO_SECONDS} seconds)`),
    );
    await reloadAfterRemoval(scope, index);
  }

  async function undoRemoval(scope) {
    const waiting = pendingRemovals.get(scope);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    pendingRemovals.delete(scope);
    const where = feedbackOf(scope);
    feedback(where, `Put ${waiting.entry.pattern} back on ${SCOPES[scope].name}.`);
    await loadList(scope).catch((error) => failed(error, where));
    where.setAttribute("tabindex", "-1");
    where.focus();
  }

  /** Send the removal that waits on this list now, if one does. */
  async function commitRemoval(scope) {
    const waiting = pendingRemovals.get(scope);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    pendingRemovals.delete(scope);
    const { entry, undo } = waiting;
    const where = feedbackOf(scope);
    const current = () => undo.isConnected; // the feedback still speaks of this removal
    const hadFocus = document.activeElement === undo;
    const input = entry.id ? { scope, ids: [entry.id] } : { scope, patterns: [entry.pattern] };
    let problem = null;
    try {
      const payload = (await gql(REMOVE, { input })).removeNeverLogEntries;
      if (payload.userErrors.length) problem = payload.userErrors.map((e) => e.message).join(" ");
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") {
        failed(error);
        return;
      }
      problem = error.message;
    }
    if (!lists[scope]) return; // signed out meanwhile
    if (problem) feedback(where, `${entry.pattern} could not be removed: ${problem}`, "error");
    else if (current()) feedback(where, `Removed ${entry.pattern} from ${SCOPES[scope].name}.`);
    if (hadFocus) {
      where.setAttribute("tabindex", "-1");
      where.focus();
    }
    lists[scope].csv = null;
    loadAudit(true);
    await loadList(scope).catch((error) => failed(error, where));
  }

  /** Leaving the page or signing out: every waiting removal is sent, with keepalive so that
   * the request outlives the page. */
  function sendPendingRemovals() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    for (const [scope, waiting] of pendingRemovals) {
      clearTimeout(waiting.timer);
      const input = waiting.entry.id ? { scope, ids: [waiting.entry.id] } : { scope, patterns: [waiting.entry.pattern] };
      const headers = { "Content-Type": "application/json", Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      fetch("/graphql", { method: "POST", keepalive: true, headers, body: JSON.stringify({ query: REMOVE, variables: { input } }) }).catch(() => {});
      if (waiting.undo.isConnected) feedback(feedbackOf(scope), `Removed ${waiting.entry.pattern} from ${SCOPES[scope].name}.`);
    }
    pendingRemovals.clear();
  }

  // Capture levels: the account's (super admins) and the viewer's own.

  function captureQuery() {
    const user = has.mySettings ? "user { id defaultCapture }" : "";
    const account = has.accountSettings ? "account { defaultCapture skipAutomatedEmails automatedSenderNames }" : "";
    return `query CaptureSettings { viewer { ${user} ${account} } }`;
  }

  async function loadCapture() {
    showCaptureFeatures();
    const shown = has.mySettings || has.accountSettings;
    $("capture").hidden = !shown;
    $("capture-toc").hidden = !shown;
    if (!shown) return;
    let data;
    try {
      data = await gql(captureQuery());
    } catch (error) {
      failed(error, $("my-capture-feedback"));
      return;
    }
    captureSettings = { user: data.viewer.user || null, account: data.viewer.account || null };
    showCapture();
  }

  function showCapture() {
    const { user, account } = captureSettings;
    const admin = isAdmin() && account !== null;
    $("my-capture-form").hidden = !user;
    if (user) {
      $("my-capture").value = user.defaultCapture === "SUBJECT" || user.defaultCapture === "METADATA" ? user.defaultCapture : "";
      $("my-capture-hint").textContent = account
        ? `The account keeps logged email ${CAPTURE_WORDS[account.defaultCapture]}: your own setting can keep less, never more.`
        : "Your own setting can keep less than the account, never more.";
    }
    $("account-capture-form").hidden = !admin;
    $("account-capture-read").hidden = admin || !account;
    if (!account) return;
    if (admin) {
      $("account-capture").value = account.defaultCapture;
      $("skip-automated").checked = account.skipAutomatedEmails;
      $("automated-names").value = account.automatedSenderNames.join("\n");
    } else {
      const names = account.automatedSenderNames;
      $("account-capture-read").textContent =
        `The account keeps logged email ${CAPTURE_WORDS[account.defaultCapture]}. ` +
        (account.skipAutomatedEmails
          ? `Automated email that you receive is kept out of the CRM${names.length ? ` (senders such as ${names.slice(0, 3).join(", ")}@…)` : ""}.`
          : "Automated email that you receive is logged as any other.") +
        " Your super admins set this.";
    }
  }

  async function saveMyCapture(event) {
    event.preventDefault();
    const where = $("my-capture-feedback");
    const value = $("my-capture").value || null;
    let payload;
    try {
      payload = (await gql(UPDATE_MY_SETTINGS, { input: { defaultCapture: value } })).updateMySettings;
    } catch (error) {
      failed(error, where);
      return;
    }
    if (payload.userErrors.length) {
      $("my-capture").setAttribute("aria-invalid", "true");
      feedback(where, payload.userErrors.map((e) => e.message).join(" "), "error");
      $("my-capture").focus();
      return;
    }
    $("my-capture").removeAttribute("aria-invalid");
    captureSettings.user = payload.user;
    showCapture();
    loadAudit(true);
    feedback(
      where,
      value
        ? `Saved: your emails are logged ${CAPTURE_WORDS[value]} at most.`
        : "Saved: your emails are logged as the account keeps them.",
    );
  }

  async function saveAccountCapture(event) {
    event.preventDefault();
    const where = $("account-capture-feedback");
    const before = captureSettings.account;
    const names = splitPatterns($("automated-names").value);
    const input = {};
    if ($("account-capture").value !== before.defaultCapture) input.defaultCapture = $("account-capture").value;
    if ($("skip-automated").checked !== before.skipAutomatedEmails) input.skipAutomatedEmails = $("skip-automated").checked;
    if (names.join("\n") !== before.automatedSenderNames.join("\n")) input.automatedSenderNames = names;
    for (const id of ["account-capture", "automated-names"]) $(id).removeAttribute("aria-invalid");
    if (!Object.keys(input).length) {
      feedback(where, "Nothing changed: the account's settings are as they were.");
      return;
    }
    let payload;
    try {
      payload = (await gql(UPDATE_ACCOUNT_SETTINGS, { input })).updateAccountSettings;
    } catch (error) {
      failed(error, where);
      return;
    }
    if (payload.userErrors.length) {
      const field = (payload.userErrors[0].field || [])[1];
      const target = field === "automatedSenderNames" ? "automated-names" : "account-capture";
      $(target).setAttribute("aria-invalid", "true");
      feedback(where, payload.userErrors.map((e) => e.message).join(" "), "error");
      $(target).focus();
      return;
    }
    captureSettings.account = payload.account;
    showCapture();
    loadAudit(true);
    const parts = [`logged email is kept ${CAPTURE_WORDS[payload.account.defaultCapture]}`];
    parts.push(payload.account.skipAutomatedEmails ? "automated email is kept out" : "automated email is logged");
    feedback(where, `Saved the account's settings: ${parts.join("; ")}.`);
  }

  // Trying an email: received mail (from, headers), and what is kept of what is logged.

  function showInboundFields() {
    const inbound = has.inbound && document.querySelector('input[name="direction"]:checked').value === "INBOUND";
    $("inbound-fields").hidden = !inbound;
  }

  /** "Name: value" lines as headers; a line that starts with white space goes on the one
   * before (a folded header, as pasted from a mail client). Null and why where a line is not. */
  function parseHeaders(text) {
    const headers = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i += 1) {
      const line = lines[i];
      if (!line.trim()) continue;
      if (/^\s/.test(line) && headers.length) {
        const last = headers[headers.length - 1];
        last.value = last.value ? `${last.value} ${line.trim()}` : line.trim();
        continue;
      }
      const colon = line.indexOf(":");
      if (colon <= 0 || !line.slice(0, colon).trim()) {
        return { headers: null, problem: `Line ${i + 1} (“${line.trim()}”) is not Name: value.` };
      }
      headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
    }
    return { headers, problem: null };
  }

  /** Direction, from and headers into the email; false (with the reason shown) where not. */
  function readInbound(email) {
    $("headers").removeAttribute("aria-invalid");
    $("from").removeAttribute("aria-invalid");
    $("headers-error").textContent = "";
    if (!has.inbound) return true;
    email.direction = document.querySelector('input[name="direction"]:checked').value;
    if (email.direction !== "INBOUND") return true;
    const from = splitRecipients($("from").value);
    if (from.length !== 1) {
      $("evaluate-error").textContent = from.length ? "A received email comes from one address." : "Type the address it came from.";
      $("from").setAttribute("aria-invalid", "true");
      $("from").focus();
      return false;
    }
    email.from = from[0];
    const { headers, problem } = parseHeaders($("headers").value);
    if (problem) {
      $("headers-error").textContent = problem;
      $("headers").setAttribute("aria-invalid", "true");
      $("headers").focus();
      return false;
    }
    email.headers = headers;
    return true;
  }

  /** The evaluation query, with the fields of capture and inbound email where offered (a
   * second selection of recipients merges with the first). */
  function evaluateQuery() {
    const more = [];
    if (has.capture) more.push("capture limitedCount recipients { address capture matchedAction }");
    if (has.inbound) more.push("direction automated automatedReason");
    return more.length ? EVALUATE.replace(/\}\s*\}\s*$/, ` ${more.join(" ")} } }`) : EVALUATE;
  }

  function showDecisionMore(decision) {
    const table = $("decision-table");
    const head = table.querySelector("thead tr");
    const kept = head.querySelector("th.kept");
    if (has.capture && !kept) head.insertBefore(el("th", { scope: "col", class: "kept" }, "Kept"), head.children[3]);
    if (!has.capture && kept) kept.remove();
    if (has.capture) {
      const trs = table.querySelectorAll("tbody tr");
      decision.recipients.forEach((r, i) => {
        const tr = trs[i];
        if (!tr) return;
        if (r.capture) tr.dataset.capture = r.capture;
        if (r.matchedAction) tr.dataset.matchedAction = r.matchedAction;
        const by = r.matchedAction && r.matchedAction !== "NEVER_LOG" && r.capture ? el("span", { class: "by-entry" }, ` (an entry: ${ACTIONS[r.matchedAction].toLowerCase()})`) : "";
        tr.insertBefore(el("td", { class: "capture", "data-label": "Kept" }, r.capture ? CAPTURES[r.capture] || r.capture : "Nothing", by), tr.children[3]);
      });
    }
    const more = [];
    if (has.inbound && decision.automated) {
      more.push(`An automated email (${decision.automatedReason}): it is kept out of the CRM.`);
    }
    if (has.capture && decision.capture) {
      const limited = decision.limitedCount;
      more.push(
        `A CRM that keeps one copy of the email keeps it ${CAPTURE_WORDS[decision.capture]}` +
          (limited ? `; ${limited} logged ${limited === 1 ? "recipient is" : "recipients are"} limited to less than full.` : "."),
      );
    }
    $("decision-more").textContent = more.join(" ");
    $("decision-more").hidden = more.length === 0;
    if (has.inbound) $("decision-more").dataset.automated = String(decision.automated);
  }

  // Import errors: the API's field ends with the file's line.

  function importErrorItem(e) {
    const field = e.field || [];
    const last = field[field.length - 1];
    const line = field[1] === "csv" && /^\d+$/.test(last || "") ? Number(last) : null;
    return el("li", { "data-code": e.code, "data-line": line }, line ? el("strong", {}, `Line ${line}: `) : "", e.message);
  }

  function wireCapture() {
    $("edit-form").addEventListener("submit", submitEdit);
    $("edit-cancel").addEventListener("click", closeEdit);
    $("edit-dialog").addEventListener("close", editClosed);
    for (const id of ["edit-action", "edit-note", "edit-expires"]) {
      $(id).addEventListener("input", () => {
        $(id).removeAttribute("aria-invalid");
        $("edit-errors").replaceChildren();
      });
    }
    $("my-capture-form").addEventListener("submit", saveMyCapture);
    $("account-capture-form").addEventListener("submit", saveAccountCapture);
    for (const radio of document.querySelectorAll('input[name="direction"]')) radio.addEventListener("change", showInboundFields);
    for (const id of ["from", "headers"]) $(id).addEventListener("input", () => $(id).removeAttribute("aria-invalid"));
    // Leaving the page: a removal still waiting for its undo window is sent, not lost.
    window.addEventListener("pagehide", sendPendingRemovals);
  }

  // -- the audit log ----------------------------------------------------------------------

  function auditPatterns(patterns) {
    if (!patterns || !patterns.length) return [];
    const shown = patterns.slice(0, 5).join(", ");
    const more = patterns.length > 5 ? ` and ${patterns.length - 5} more` : "";
    return [" ", el("code", { class: "audit-patterns" }, shown), more];
  }

  let auditGeneration = 0;

  async function loadAudit(fresh) {
    if (fresh) auditGeneration += 1;
    const generation = auditGeneration;
    let events;
    try {
      events = (await gql(AUDIT, { first: AUDIT_PAGE, after: fresh ? null : auditAfter })).auditEvents;
    } catch (error) {
      failed(error);
      return;
    }
    if (generation !== auditGeneration) return; // a newer reading is under way
    const tbody = $("audit-table").querySelector("tbody");
    if (fresh) tbody.replaceChildren();
    tbody.append(
      ...events.edges.map(({ node }) =>
        el(
          "tr",
          { "data-action": node.action },
          el("td", { "data-label": "When" }, formatTime(node.createdAt)),
          el("td", { "data-label": "Who" }, node.actor ? node.actor.email : "(not recorded)"),
          el("td", { "data-label": "What" }, node.summary, ...auditPatterns(node.patterns)),
        ),
      ),
    );
    auditAfter = events.pageInfo.endCursor;
    $("audit-more").hidden = !events.pageInfo.hasNextPage;
    $("audit-empty").hidden = events.totalCount > 0;
    $("audit-table").closest(".table-wrap").hidden = events.totalCount === 0;
  }

  // -- live: changes made elsewhere, pushed over a WebSocket ------------------------------
  //
  // graphql-transport-ws at /graphql (the protocol of the graphql-ws library), the token in
  // connection_init; one subscription per list. A change reads the list's page again, and
  // says so politely to screen readers; what the person is doing is left alone: dialogs,
  // the search field and what is typed anywhere are not touched, the focus stays on its row,
  // and a row being confirmed or edited is read again only once it is done.

  const LIVE = `subscription ListChanged($scope: NeverLogScope!) {
    neverLogListChanged(scope: $scope) { kind scope list { count remaining } patterns entryCount actor { email } at }
  }`;
  const LIVE_FEATURE = `query LiveFeature { __schema { subscriptionType { fields { name } } } }`;
  const LIVE_KINDS = { ENTRIES_ADDED: "added", ENTRIES_REMOVED: "removed", ENTRIES_UPDATED: "changed", ENTRIES_EXPIRED: "expired" };
  const RETRY_FIRST_MS = 1000;
  const RETRY_MAX_MS = 30_000;
  const OWN_CHANGE_MS = 5000; // a change of this tab's, told back: not announced again
  const live = { socket: null, token: null, retry: RETRY_FIRST_MS, timer: null, acked: false, missed: false };
  const ownChanges = {}; // per scope: when this tab last changed it

  /** The page's own mutations of a list, so that their echo is not announced as news. */
  function noteOwnChange(query, variables) {
    const input = variables && variables.input;
    if (/^\s*mutation/.test(query) && input && input.scope) ownChanges[input.scope] = Date.now();
  }

  function setLiveState(state) {
    document.body.dataset.live = state; // connected, reconnecting or off (read by the tests)
  }

  async function startLive(token) {
    stopLive();
    live.token = token;
    try {
      const schema = (await gql(LIVE_FEATURE, {}, token)).__schema;
      const fields = (schema.subscriptionType && schema.subscriptionType.fields) || [];
      if (!fields.some((f) => f.name === "neverLogListChanged")) return; // a server without it
    } catch {
      // no introspection here: the next contract (with subscriptions) is assumed
    }
    if (live.token !== token) return; // signed out meanwhile
    connectLive();
  }

  function stopLive() {
    clearTimeout(live.timer);
    live.token = null;
    if (live.socket) {
      const socket = live.socket;
      live.socket = null;
      socket.close(1000, "Signed out");
    }
    live.retry = RETRY_FIRST_MS;
    live.missed = false;
    setLiveState("off");
  }

  function connectLive() {
    const token = live.token;
    if (!token) return;
    const url = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/graphql`;
    let socket;
    try {
      socket = new WebSocket(url, "graphql-transport-ws");
    } catch {
      retryLive();
      return;
    }
    live.socket = socket;
    live.acked = false;
    const send = (message) => socket.send(JSON.stringify(message));
    socket.addEventListener("open", () => send({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "connection_ack") {
        live.acked = true;
        live.retry = RETRY_FIRST_MS;
        setLiveState("connected");
        for (const scope of Object.keys(SCOPES)) send({ id: scope, type: "subscribe", payload: { query: LIVE, variables: { scope } } });
        if (live.missed) {
          // Changes made while the connection was down: read the lists again.
          live.missed = false;
          for (const scope of Object.keys(SCOPES)) refreshLive(scope);
          loadAudit(true);
        }
      } else if (message.type === "ping") {
        send({ type: "pong" });
      } else if (message.type === "next" && message.payload && message.payload.data) {
        listChanged(message.payload.data.neverLogListChanged);
      }
    });
    socket.addEventListener("close", (event) => {
      if (live.socket !== socket) return; // closed on purpose (signed out, or a new token)
      live.socket = null;
      if (event.code === 4401 || event.code === 4403) {
        // The token was revoked or its user deactivated: as for any request with it.
        failed(new ApiError("This token is no longer accepted.", "UNAUTHENTICATED"));
        return;
      }
      retryLive();
    });
  }

  /** Connect again after a pause that doubles up to 30 s (with a little jitter, so that
   * pages cut off together do not come back together). */
  function retryLive() {
    if (!live.token) return;
    live.missed = true;
    setLiveState("reconnecting");
    const wait = live.retry * (0.8 + Math.random() * 0.4);
    live.retry = Math.min(live.retry * 2, RETRY_MAX_MS);
    clearTimeout(live.timer);
    live.timer = setTimeout(connectLive, wait);
  }

  function listChanged(change) {
    if (!change || !lists[change.scope]) return;
    refreshLive(change.scope);
    loadAudit(true);
    const own = change.actor && viewer && change.actor.email === viewer.user.email && Date.now() - (ownChanges[change.scope] || 0) < OWN_CHANGE_MS;
    if (own) return;
    const n = change.entryCount;
    const what = n === 1 && change.patterns.length ? change.patterns[0] : `${n} ${n === 1 ? "entry" : "entries"}`;
    const who = change.actor ? (viewer && change.actor.email === viewer.user.email ? "You (elsewhere)" : change.actor.email) : null;
    const verb = LIVE_KINDS[change.kind] || change.kind.toLowerCase();
    const where = SCOPES[change.scope].name;
    const message = who
      ? `${who} ${verb} ${what} ${change.kind === "ENTRIES_ADDED" ? "to" : change.kind === "ENTRIES_REMOVED" ? "from" : "on"} ${where}.`
      : `${what[0].toUpperCase()}${what.slice(1)} of ${where} ${verb}.`;
    $("live-status").textContent = message;
    const note = liveNote(change.scope);
    note.textContent = `${message} (${formatTime(change.at)})`;
    note.hidden = false;
  }

  /** The list's line that tells of the last change made elsewhere (made once, kept). */
  function liveNote(scope) {
    const section = lists[scope].section;
    let note = section.querySelector(".live-note");
    if (!note) {
      note = el("p", { class: "live-note hint", hidden: true });
      section.querySelector(".usage").after(note);
    }
    return note;
  }

  /** Read the list's page again, leaving alone what the person is doing; one reading at a
   * time per list (a burst of changes makes at most one more). */
  async function refreshLive(scope) {
    const state = lists[scope];
    if (!state) return;
    if (state.liveBusy) {
      state.liveAgain = true;
      return;
    }
    const tbody = state.section.querySelector("tbody");
    if (tbody.querySelector("input, textarea, select, .confirm-question")) {
      // A row is being confirmed or edited: read again once it is done.
      clearTimeout(state.liveTimer);
      state.liveTimer = setTimeout(() => refreshLive(scope), 500);
      return;
    }
    const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
    const row = focused && focused.closest("tr");
    const pattern = row ? row.dataset.pattern : null;
    const control = focused ? focused.className.split(" ")[0] : null;
    const index = row ? [...tbody.children].indexOf(row) : -1;
    state.liveBusy = true;
    state.csv = null;
    try {
      await loadList(scope);
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") failed(error);
    } finally {
      state.liveBusy = false;
    }
    if (focused && !focused.isConnected && (!document.activeElement || document.activeElement === document.body)) {
      // The focus was on a row that was drawn again: on the same control of the same entry,
      // or, if it went, of the row that took its place.
      const rows = [...tbody.children];
      const same = rows.find((tr) => tr.dataset.pattern === pattern) || rows[Math.min(index, rows.length - 1)];
      const target = same && (same.querySelector(control ? `.${CSS.escape(control)}` : "button") || same.querySelector("button"));
      (target || state.section.querySelector(".search")).focus();
    }
    if (state.liveAgain) {
      state.liveAgain = false;
      refreshLive(scope);
    }
  }

  // -- wiring ---------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("token-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = cleanToken($("token").value);
      if (!token) {
        $("token-error").textContent = "Paste a token first.";
        $("token").focus();
        return;
      }
      await signIn(token);
    });
    $("token").addEventListener("input", () => $("token").removeAttribute("aria-invalid"));
    $("sign-out").addEventListener("click", () => {
      signOut();
      $("token").focus();
    });
    $("add-form").addEventListener("submit", submitAdd);
    $("add-cancel").addEventListener("click", closeAdd);
    for (const id of ["patterns", "note", "expires"]) {
      $(id).addEventListener("input", () => {
        $(id).removeAttribute("aria-invalid");
        $("patterns-errors").replaceChildren();
      });
    }
    $("import-form").addEventListener("submit", submitImport);
    $("import-cancel").addEventListener("click", closeImport);
    $("import-preview-button").addEventListener("click", previewImport);
    for (const id of ["import-file", "import-text"]) $(id).addEventListener("input", importChanged);
    $("import-file").addEventListener("change", importChanged);
    for (const radio of document.querySelectorAll('input[name="import-mode"]')) radio.addEventListener("change", importChanged);
    $("evaluate-form").addEventListener("submit", submitEvaluate);
    wireCapture();
    $("internal-form").addEventListener("submit", saveInternal);
    $("invitation-form").addEventListener("submit", acceptInvitation);
    $("invitation-code").addEventListener("input", () => $("invitation-code").removeAttribute("aria-invalid"));
    $("new-token-continue").addEventListener("click", continueWithNewToken);
    $("user-form").addEventListener("submit", addUser);
    $("audit-more").addEventListener("click", async () => {
      const before = $("audit-table").querySelectorAll("tbody tr").length;
      await loadAudit(false);
      const first = $("audit-table").querySelectorAll("tbody tr")[before];
      if (first) {
        first.setAttribute("tabindex", "-1");
        first.focus();
      }
    });
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      signIn(saved).then((ok) => {
        if (!ok) sessionStorage.removeItem(TOKEN_KEY);
      }, failed);
    }
  });
})();
