// @peculiar/x509, loaded on first use through loadX509() in x509-util.ts: only issuing a
// certificate or reading and signing a CRL needs it. With its ASN.1 schemas, tsyringe and the
// Reflect polyfill it is ~3.8 MB of live heap, which a gateway that reuses its certificate (the
// usual start) and checks no client certificates never has to carry.
// @peculiar/x509 needs a Reflect metadata polyfill loaded before it (its README, "Reflect
// Polyfill Required"). reflect-metadata must be a direct dependency in package.json.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
