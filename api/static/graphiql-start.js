// GraphiQL, served with its scripts by this service (api/static/graphiql/, from the npm
// packages: `make graphiql` refreshes them). It opens with an example decision and a
// template of the Authorization header.
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

  /** fetch, but the template's placeholder is not sent as a token: the schema (which
   * answers without one) loads before a token is pasted. */
  function fetchWithoutPlaceholder(url, init) {
    const headers = new Headers(init && init.headers);
    if ((headers.get("Authorization") || "").includes(PLACEHOLDER)) headers.delete("Authorization");
    return window.fetch(url, { ...init, headers });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(
      React.createElement(GraphiQL, {
        fetcher: GraphiQL.createFetcher({ url: "/graphql", fetch: fetchWithoutPlaceholder }),
        defaultQuery: EXAMPLE,
        defaultHeaders: HEADERS,
        defaultEditorToolsVisibility: "headers",
        shouldPersistHeaders: false,
      }),
    );
  });
})();
