// The GraphiQL bundle that `make graphiql` builds (esbuild) into api/static/graphiql/: GraphiQL,
// its explorer plugin, React and the graphql-ws client, from the npm packages pinned in
// package-lock.json. It puts them on window.NeverLogGraphiQL; api/static/graphiql-start.js
// (served as it is, no build) opens GraphiQL with them. Monaco's editor runs its language
// services in web workers, built beside this bundle and loaded from this service.
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { createClient } from "graphql-ws";
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";

const WORKERS = "/static/graphiql/";
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const name = label === "json" ? "json" : label === "graphql" ? "graphql" : "editor";
    return new Worker(`${WORKERS}${name}.worker.js`);
  },
};

window.NeverLogGraphiQL = { React, createRoot, GraphiQL, explorerPlugin, createGraphiQLFetcher, createClient };
