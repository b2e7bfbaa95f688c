// The TLS part's public API, for the server, the CLI and the admin API.
export { tlsProfile, TLS13_SUITES, TLS12_CIPHERS, ECDH_CURVES, type MinTlsVersion, type TlsProfile } from './profile.ts';
export { ensureLocalCa, loadLocalCa, caPaths, caExpiryWarning, CA_WARN_DAYS, type LocalCa } from './local-ca.ts';
export { ensureServerCert, issueServerCert, serverCertNames, type ServerCert } from './server-cert.ts';
export { createTlsManager, type TlsManager, type TlsManagerOptions, type CertStatus, type ClientCertCheck, type TlsLog } from './manager.ts';
export { issueClientCert, revokeClientCert, listClientCerts, type IssuedClientCert } from './client-certs.ts';
export { clientCertVerdict, type ClientCertVerdict } from './client-audit.ts';
export { readCertStatus, formatCertStatus } from './status.ts';
export { trustInstructions, installCommands, installTrust, currentTrustPlatform, stepText, type TrustPlatform } from './trust.ts';
export { SECURITY_HEADERS } from './security-headers.ts';
export { describeCertificate, type CertificateInfo } from './cert-info.ts';
