// The two unauthenticated endpoints a joining node uses (k3s serves the CA at /cacerts too).
// The agent spells them out again: it may not import server code.

/** GET: the cluster CA certificate (PEM). Public by nature; the joiner checks its pin. */
export const JOIN_CA_PATH = "/cacerts";
/** POST {token, nodeName}: a bootstrap token exchanged for the node's own credential. */
export const JOIN_PATH = "/v1-bramble/join";
