// The one spelling of a certificate serial number, used wherever serials are stored, compared or
// written into a CRL: lower-case hex, no separators, no leading zeros. People paste serials from
// openssl ("00:AB:…" or "00AB…"), browsers ("AB CD …") and node ("AB…"); all must find the same
// certificate and the same revocation.
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^0+(?=.)/, '');
}

/** Could this text be a serial someone pasted (hex, optionally with ':' or spaces)? */
export function looksLikeSerial(text: string): boolean {
  return /^[0-9a-f][0-9a-f:\s]*$/i.test(text.trim());
}
