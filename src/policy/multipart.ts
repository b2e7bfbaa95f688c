// The one multipart route, POST /v1/audio/transcriptions (OpenAI's audio API; Ollama v0.33
// middleware.TranscriptionMiddleware). Ollama reads it with Go's ParseMultipartForm and takes
// the model from r.FormValue("model") — which prefers a `model` in the URL query over the body,
// decodes Content-Transfer-Encoding: quoted-printable, accepts LF-only line ends, skips a
// preamble, and reads RFC 2231 `name*=` parameters. Each is a way for two parsers to disagree
// about which model a request names, so this reader accepts only the plain form every client
// library sends and refuses the rest (400), and the bytes it read are forwarded unchanged:
//   --B CRLF, headers (Content-Disposition: form-data; name="x"[; filename="y"], optionally
//   Content-Type), CRLF CRLF, data, CRLF --B … --B-- [CRLF]; `model` exactly once, not a file.

export type FormFields = { fields: Record<string, string> } | { invalid: string };

const CT_RE = /^multipart\/form-data;[ \t]*boundary=(?:"([0-9A-Za-z'()+_,./:=?-]{1,70})"|([0-9A-Za-z'()+_,./:=?-]{1,70}))[ \t]*$/i;
const DISPOSITION_RE = /^form-data; ?name=(?:"([A-Za-z0-9_.[\]-]{1,64})"|([A-Za-z0-9_.-]{1,64}))(; ?filename="([^"\\\r\n]*)")?$/;
const PART_HEADER_RE = /^(content-disposition|content-type):[ \t]*([^\r\n]*)$/i;
/** Longest text field read into a string (the model name, language, prompt …). */
const MAX_FIELD = 64 * 1024;

/** Reads the text fields of a multipart/form-data body, or says why it will not. */
export function readFormFields(contentType: string | undefined, body: Buffer): FormFields {
  const ct = CT_RE.exec(contentType ?? '');
  if (!ct) return { invalid: 'Content-Type must be multipart/form-data with a boundary' };
  const boundary = ct[1] ?? ct[2]!;
  const first = Buffer.from(`--${boundary}\r\n`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  if (!body.subarray(0, first.length).equals(first)) return { invalid: 'multipart body must start with its boundary line (no preamble, CRLF line ends)' };

  const fields: Record<string, string> = {};
  const seen = new Set<string>();
  let pos = first.length;
  for (;;) {
    const headEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) return { invalid: 'multipart part without a header end' };
    let name: string | null = null;
    let isFile = false;
    let sawType = false;
    for (const line of body.subarray(pos, headEnd).toString('latin1').split('\r\n')) {
      const h = PART_HEADER_RE.exec(line);
      if (!h) return { invalid: 'multipart part headers may only be Content-Disposition and Content-Type' };
      if (h[1]!.toLowerCase() === 'content-type') {
        if (sawType) return { invalid: 'two Content-Type headers in one multipart part' };
        sawType = true;
        continue;
      }
      if (name !== null) return { invalid: 'two Content-Disposition headers in one multipart part' };
      const d = DISPOSITION_RE.exec(h[2]!);
      if (!d) return { invalid: 'multipart Content-Disposition must be form-data; name="…" (optionally filename="…")' };
      name = d[1] ?? d[2]!;
      isFile = d[3] !== undefined;
    }
    if (name === null) return { invalid: 'multipart part without a Content-Disposition' };
    const dataStart = headEnd + 4;
    const dataEnd = body.indexOf(delimiter, dataStart);
    if (dataEnd < 0) return { invalid: 'multipart body is not closed by its boundary' };
    if (seen.has(name)) return { invalid: `multipart field "${name}" appears twice` };
    seen.add(name);
    if (!isFile) {
      if (dataEnd - dataStart > MAX_FIELD) return { invalid: `multipart field "${name}" is too long` };
      fields[name] = body.subarray(dataStart, dataEnd).toString('utf8');
    } else if (name === 'model') {
      return { invalid: 'multipart field "model" must be text, not a file' };
    }
    pos = dataEnd + delimiter.length;
    const after = body.subarray(pos, pos + 2).toString('latin1');
    if (after === '--') {
      const rest = body.subarray(pos + 2);
      if (rest.length !== 0 && !(rest.length === 2 && rest.toString('latin1') === '\r\n')) return { invalid: 'data after the closing multipart boundary' };
      return { fields };
    }
    if (after !== '\r\n') return { invalid: 'multipart boundary line must end with CRLF' };
    pos += 2;
  }
}

/** Body fields Warden checks, from a form body: `{ model }` only when the query names nothing. */
export function formBodyForPolicy(contentType: string | undefined, body: Buffer, query: URLSearchParams): { json: Record<string, string> } | { invalid: string } {
  // Go's FormValue reads the URL query first: a `model` there would override the body's.
  if ([...query.keys()].length > 0) return { invalid: 'query parameters are not accepted on this route' };
  const form = readFormFields(contentType, body);
  if ('invalid' in form) return form;
  const json: Record<string, string> = {};
  if (Object.hasOwn(form.fields, 'model')) json.model = form.fields.model!;
  return { json };
}
