// Where ACME state lives in the data dir. A file of its own so that reading certificate status
// does not load acme-client.
export const ACME_DIR = 'acme';
