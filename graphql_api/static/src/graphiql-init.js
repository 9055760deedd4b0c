// Mounts GraphiQL on #graphiql. Loaded as a file (no inline script) so the page runs under a
// Content-Security-Policy without 'unsafe-inline'. Queries and mutations go over HTTP with the
// headers of the headers editor; subscriptions go over WebSockets (graphql-transport-ws), the
// editor's Authorization header becoming the connection's `authorization` parameter.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.getAttribute("data-endpoint") || "/graphql", window.location.href);
  var wsEndpoint = endpoint.href.replace(/^http/, "ws");
  var httpFetcher = GraphiQL.createFetcher({ url: endpoint.href });
  var wsClients = {};

  function authorizationOf(headers) {
    if (!headers) return "";
    for (var name in headers) {
      if (name.toLowerCase() === "authorization") return String(headers[name]);
    }
    return "";
  }

  function wsClientFor(authorization) {
    if (!wsClients[authorization]) {
      wsClients[authorization] = graphqlWs.createClient({
        url: wsEndpoint,
        lazy: true,
        retryAttempts: 0,
        connectionParams: { authorization: authorization },
      });
    }
    return wsClients[authorization];
  }

  // The type of the operation to run: from the parsed document GraphiQL may hand over, else
  // from the text (comments and strings removed so they cannot fake a keyword).
  function operationType(params, documentAST) {
    if (documentAST && documentAST.definitions) {
      var operations = documentAST.definitions.filter(function (d) {
        return d.kind === "OperationDefinition";
      });
      var chosen = operations.find(function (d) {
        return params.operationName ? d.name && d.name.value === params.operationName : true;
      });
      if (chosen) return chosen.operation;
    }
    var text = String(params.query || "")
      .replace(/"""[\s\S]*?"""/g, "")
      .replace(/"(?:[^"\\\n]|\\.)*"/g, "")
      .replace(/#[^\n]*/g, "");
    var pattern = /(?:^|[\s}])(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?/g;
    var found = [];
    var match;
    while ((match = pattern.exec(text))) found.push(match);
    var named = found.find(function (m) {
      return m[2] === params.operationName;
    });
    // A lone operation is the one to run, whatever name GraphiQL still remembers.
    var chosen = named || (found.length === 1 || !params.operationName ? found[0] : null);
    return chosen ? chosen[1] : "query";
  }

  function fetcher(params, opts) {
    if (operationType(params, opts && opts.documentAST) !== "subscription") {
      return httpFetcher(params, opts);
    }
    var client = wsClientFor(authorizationOf(opts && opts.headers));
    return {
      subscribe: function (observer) {
        var dispose = client.subscribe(params, {
          next: function (value) { observer.next(value); },
          error: function (error) {
            observer.error(error instanceof Error ? error : new Error(error.reason || String(error)));
          },
          complete: function () { observer.complete(); },
        });
        return { unsubscribe: dispose };
      },
    };
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
