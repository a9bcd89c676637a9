// The Never Log settings page: plain JavaScript, no build step, no other server than
// /graphql. Everything the API returns is shown with textContent (through el() and
// append()), never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "neverlog.token"; // sessionStorage: this browser tab only
  const PAGE_SIZE = 100;

  const VIEWER = `query Viewer { viewer { user { id email name role } account { name } } }`;
  const LIST = `query List($scope: NeverLogScope!, $first: Int, $after: String) {
    neverLogList(scope: $scope) {
      scope count limit remaining
      entries(first: $first, after: $after) {
        edges { node { id pattern kind createdAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;
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
  const EVALUATE = `query Evaluate($email: EmailInput!) {
    evaluateEmailLogging(email: $email) {
      channel neverLogApplies emailSent loggedCount neverLogCount
      recipients { address field outcome contactCreated matchedPattern matchedScope explanation }
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
    LOGGING_OFF: "Logging off",
    EXCLUDED: "Excluded",
    REPLY_TO_NEVER_LOG_THREAD: "Reply to a never-log thread",
    NO_CONTACT: "No contact",
    INVALID_ADDRESS: "Invalid address",
  };
  const FIELDS = { TO: "To", CC: "Cc", BCC: "Bcc" };
  const LIST_NAMES = { PERSONAL: "your personal list", ACCOUNT: "the account-wide list" };

  const $ = (id) => document.getElementById(id);
  let viewer = null;
  let dialogScope = null;

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

  function say(message, kind = "info") {
    const status = $("status");
    status.textContent = message;
    status.dataset.kind = kind;
  }

  class ApiError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  /** POST a GraphQL request; the data, or an ApiError with the first error's message. */
  async function gql(query, variables = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
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

  function split(text) {
    return text
      .split(/[,;\n]/)
      .map((item) => item.trim())
      .filter(Boolean);
  }

  function formatDate(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? iso
      : date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  function failed(error) {
    if (error.code === "UNAUTHENTICATED") {
      signOut();
      $("token-error").textContent = "This token is not accepted (it may have been revoked). Paste another one.";
      return;
    }
    say(error.message, "error");
  }

  // -- signing in -----------------------------------------------------------------------

  async function signIn() {
    try {
      const data = await gql(VIEWER);
      viewer = data.viewer;
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      viewer = null;
      showSignedIn(false);
      $("token-error").textContent =
        error.code === "UNAUTHENTICATED"
          ? "This token is not accepted: check that it is whole and has not been revoked."
          : error.message;
      return;
    }
    $("token-error").textContent = "";
    const { user, account } = viewer;
    const role = user.role === "SUPER_ADMIN" ? "super admin" : "user";
    $("who-text").replaceChildren(
      "Signed in as ",
      el("strong", {}, user.email),
      ` (${role}) of ${account.name}.`,
    );
    showSignedIn(true);
    const admin = user.role === "SUPER_ADMIN";
    const accountSection = $("account");
    accountSection.querySelector(".add-button").hidden = !admin;
    accountSection.querySelector(".account-hint").textContent = admin
      ? "Recipients who are never logged for anybody in the account."
      : "Recipients who are never logged for anybody in the account. Your super admins keep it.";
    try {
      await Promise.all([loadList("PERSONAL"), loadList("ACCOUNT")]);
    } catch (error) {
      failed(error);
    }
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    viewer = null;
    showSignedIn(false);
    say("");
  }

  function showSignedIn(signedIn) {
    $("sign-in").hidden = signedIn;
    for (const id of ["who", "personal", "account", "try"]) $(id).hidden = !signedIn;
    if (!signedIn) {
      $("decision").hidden = true;
      for (const section of document.querySelectorAll("section.list tbody")) section.replaceChildren();
    }
  }

  // -- the lists ------------------------------------------------------------------------

  async function loadList(scope) {
    const section = document.querySelector(`section.list[data-scope="${scope}"]`);
    let list = null;
    const entries = [];
    let after = null;
    do {
      const data = await gql(LIST, { scope, first: PAGE_SIZE, after });
      list = data.neverLogList;
      entries.push(...list.entries.edges.map((edge) => edge.node));
      after = list.entries.pageInfo.hasNextPage ? list.entries.pageInfo.endCursor : null;
    } while (after);
    section.querySelector(".usage").replaceChildren(
      el("span", { class: "count" }, `${list.count} of ${list.limit} entries`),
      ` · ${list.remaining} more allowed`,
    );
    const editable = scope === "PERSONAL" || viewer.user.role === "SUPER_ADMIN";
    const rows = entries.map((entry) =>
      el(
        "tr",
        { "data-pattern": entry.pattern },
        el("td", { class: "pattern", "data-label": "Pattern" }, el("code", {}, entry.pattern)),
        el("td", { class: "kind", "data-label": "Matches" }, KINDS[entry.kind] || entry.kind),
        el("td", { class: "added", "data-label": "Added" }, formatDate(entry.createdAt)),
        el(
          "td",
          { class: "row-actions" },
          editable ? removeButton(scope, entry) : "",
        ),
      ),
    );
    section.querySelector("tbody").replaceChildren(...rows);
    section.querySelector(".table-wrap").hidden = rows.length === 0;
    section.querySelector(".empty").hidden = rows.length > 0;
  }

  function removeButton(scope, entry) {
    const button = el(
      "button",
      { type: "button", class: "remove", "aria-label": `Remove ${entry.pattern} from ${LIST_NAMES[scope]}` },
      "Remove",
    );
    button.addEventListener("click", () => removeEntry(scope, entry, button));
    return button;
  }

  async function removeEntry(scope, entry, button) {
    button.disabled = true;
    try {
      const data = await gql(REMOVE, { input: { scope, ids: [entry.id] } });
      const payload = data.removeNeverLogEntries;
      if (payload.userErrors.length) {
        say(payload.userErrors.map((e) => e.message).join(" "), "error");
        button.disabled = false;
        return;
      }
      say(`Removed ${entry.pattern} from ${LIST_NAMES[scope]}.`);
      await loadList(scope);
      const heading = document.querySelector(`section.list[data-scope="${scope}"] h2`);
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    } catch (error) {
      button.disabled = false;
      failed(error);
    }
  }

  // -- the add dialog -------------------------------------------------------------------

  function openAdd(scope) {
    dialogScope = scope;
    $("add-title").textContent =
      scope === "PERSONAL" ? "Add to your personal list" : "Add to the account-wide list";
    $("patterns").value = "";
    $("patterns").removeAttribute("aria-invalid");
    $("patterns-errors").replaceChildren();
    $("add-dialog").showModal();
    $("patterns").focus();
  }

  async function submitAdd(event) {
    event.preventDefault();
    const text = $("patterns").value;
    const errors = $("patterns-errors");
    if (!split(text).length) {
      $("patterns").setAttribute("aria-invalid", "true");
      errors.replaceChildren(el("li", {}, "Type at least one address or domain."));
      return;
    }
    const submit = $("add-form").querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const data = await gql(ADD, { input: { scope: dialogScope, patterns: [text] } });
      const payload = data.addNeverLogEntries;
      if (payload.userErrors.length) {
        // Nothing was saved: the dialog keeps what was typed, with every refusal under it.
        $("patterns").setAttribute("aria-invalid", "true");
        errors.replaceChildren(...payload.userErrors.map((e) => el("li", { "data-code": e.code }, e.message)));
        $("patterns").focus();
        return;
      }
      $("add-dialog").close();
      const parts = [];
      if (payload.added.length) {
        parts.push(`Added ${payload.added.map((e) => e.pattern).join(", ")} to ${LIST_NAMES[dialogScope]}.`);
      }
      if (payload.alreadyListed.length) {
        parts.push(`Already listed: ${payload.alreadyListed.join(", ")}.`);
      }
      say(parts.join(" "));
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

  // -- trying an email ------------------------------------------------------------------

  async function submitEvaluate(event) {
    event.preventDefault();
    const email = {
      channel: $("channel").value,
      to: split($("to").value),
      cc: split($("cc").value),
      bcc: split($("bcc").value),
    };
    const error = $("evaluate-error");
    if (!email.to.length && !email.cc.length && !email.bcc.length) {
      error.textContent = "Type at least one recipient.";
      $("to").setAttribute("aria-invalid", "true");
      $("to").focus();
      return;
    }
    $("to").removeAttribute("aria-invalid");
    error.textContent = "";
    let decision;
    try {
      decision = (await gql(EVALUATE, { email })).evaluateEmailLogging;
    } catch (failure) {
      if (failure.code === "UNAUTHENTICATED") failed(failure);
      else error.textContent = failure.message;
      return;
    }
    showDecision(decision);
  }

  function showDecision(decision) {
    const total = decision.recipients.length;
    const recipients = total === 1 ? "recipient" : "recipients";
    const lists = decision.neverLogApplies
      ? "The never-log lists apply to this channel."
      : "The never-log lists do not apply to this channel.";
    const sent = decision.emailSent ? " The email is sent either way." : "";
    $("decision-summary").textContent =
      `${decision.loggedCount} of ${total} ${recipients} logged, ` +
      `${decision.neverLogCount} never logged. ${lists}${sent}`;
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
        el("td", { class: "explanation", "data-label": "Why" }, r.explanation),
      ),
    );
    $("decision-table").querySelector("tbody").replaceChildren(...rows);
    $("decision").hidden = false;
  }

  // -- wiring ---------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("token-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) {
        $("token-error").textContent = "Paste a token first.";
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      await signIn();
    });
    $("sign-out").addEventListener("click", signOut);
    for (const section of document.querySelectorAll("section.list")) {
      section.querySelector(".add-button").addEventListener("click", () => openAdd(section.dataset.scope));
    }
    $("add-form").addEventListener("submit", submitAdd);
    $("add-cancel").addEventListener("click", () => $("add-dialog").close());
    $("patterns").addEventListener("input", () => {
      $("patterns").removeAttribute("aria-invalid");
      $("patterns-errors").replaceChildren();
    });
    $("evaluate-form").addEventListener("submit", submitEvaluate);
    if (sessionStorage.getItem(TOKEN_KEY)) {
      signIn().catch(failed);
    }
  });
})();
