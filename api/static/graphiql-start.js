// GraphiQL, served with its scripts by this service (api/static/graphiql/, bundled from the
// npm packages: `make graphiql` rebuilds it), with the explorer plugin. It opens with an
// example decision and a template of the Authorization header; queries and mutations go over
// HTTP, subscriptions over WebSocket (graphql-transport-ws) to the same /graphql, with the
// token of the Headers tab in connection_init.
"use strict";

(() => {
  const EXAMPLE = `# What does this email log? Put your token
# in the Headers tab below (make token
# prints one), then run it: Ctrl-Enter.
query Decide {
  evaluateEmailLogging(email: {
    channel: SALES_EXTENSION
    to: ["Jane Doe <jane@lawfirm.com>", "bob@customer.com"]
    cc: ["sister@family-mail.com"]
    existingContacts: ["bob@customer.com"]
  }) {
    neverLogApplies emailSent loggedCount neverLogCount
    recipients { address field outcome contactCreated matchedPattern matchedScope explanation }
  }
}
`;
  const PLACEHOLDER = "nl_PASTE_YOUR_TOKEN_HERE";
  const HEADERS = `{"Authorization": "Bearer ${PLACEHOLDER}"}`;
  const URL = "/graphql";
  const SOCKET_URL = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}${URL}`;

  /** The Authorization header as typed, unless it is still the template's placeholder. */
  function authorization(headers) {
    const value = (headers && (headers.Authorization || headers.authorization)) || "";
    return value && !String(value).includes(PLACEHOLDER) ? String(value) : null;
  }

  /** fetch, but the template's placeholder is not sent as a token: the schema (which
   * answers without one) loads before a token is pasted. */
  function fetchWithoutPlaceholder(url, init) {
    const headers = new Headers(init && init.headers);
    if ((headers.get("Authorization") || "").includes(PLACEHOLDER)) headers.delete("Authorization");
    return window.fetch(url, { ...init, headers });
  }

  /** The explorer's argument fields have no label of their own (axe-core: label, select-name):
   * each is named after its argument, as the explorer shows it beside the field. */
  function labelExplorerFields(root) {
    new MutationObserver(() => {
      for (const field of root.querySelectorAll(".graphiql-explorer-root input:not([aria-label]), .graphiql-explorer-root select:not([aria-label])")) {
        const argument = field.closest("[data-arg-name]");
        if (argument) field.setAttribute("aria-label", `Argument ${argument.getAttribute("data-arg-name")}`);
        else if (field.placeholder) field.setAttribute("aria-label", field.placeholder);
        else if (field.closest(".graphiql-explorer-actions")) field.setAttribute("aria-label", "Kind of operation to add");
      }
    }).observe(root, { childList: true, subtree: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const { React, createRoot, GraphiQL, explorerPlugin, createGraphiQLFetcher, createClient } = window.NeverLogGraphiQL;

    // One graphql-ws client per token: a WebSocket opens at the first subscription, with the
    // Headers tab's token in connection_init, and a new token makes a new client.
    let socket = null;
    function socketFor(token) {
      if (!socket || socket.token !== token) {
        if (socket) socket.client.dispose();
        socket = {
          token,
          client: createClient({ url: SOCKET_URL, connectionParams: token ? { Authorization: token } : {} }),
        };
      }
      return socket.client;
    }
    function fetcher(params, options) {
      const wsClient = socketFor(authorization(options && options.headers));
      return createGraphiQLFetcher({ url: URL, fetch: fetchWithoutPlaceholder, wsClient })(params, options);
    }

    labelExplorerFields(document.getElementById("graphiql"));
    createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher,
        plugins: [explorerPlugin()],
        defaultQuery: EXAMPLE,
        defaultHeaders: HEADERS,
        defaultEditorToolsVisibility: "headers",
        shouldPersistHeaders: false,
      }),
    );
  });
})();
