// A customer's website on another origin than the chat server: one page that embeds the
// widget with the documented <script> tag. The page is deliberately unfriendly: a strict CSP
// of its own (no inline styles) and aggressive global CSS, which the widget must survive.
//
// Usage: node host-server.js <port> <chat-origin>
// `/?chat=http://127.0.0.1:<port>` embeds another local chat server instead (tests that run
// their own server use it); `&s3=http://127.0.0.1:<port>` lets the page reach a bucket there
// (the chat server's S3 mode, where the widget uploads and downloads at presigned URLs).

import http from 'node:http';

const [port, chatOrigin] = process.argv.slice(2);
if (!port || !chatOrigin) {
  console.error('usage: node host-server.js <port> <chat-origin>');
  process.exit(2);
}

const page = (chatOrigin) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Loja Exemplo</title>
  <link rel="stylesheet" href="/site.css">
</head>
<body>
  <h1>Loja Exemplo</h1>
  <p class="intro">A shop that embeds the Atendo widget.</p>
  <button type="button" class="buy">Comprar</button>
  <script src="${chatOrigin}/widget.js" async></script>
</body>
</html>`;

// Global rules that would wreck a widget that is not isolated.
const css = `
body { font: 30px/1 serif; color: #333; }
button, p, h2, li, div, textarea, section, header, form { color: red !important; font-size: 30px !important;
  background: yellow !important; border: 5px dotted green !important; }
`;

const csp = (chatOrigin, s3Origin) =>
  [
    "default-src 'self'",
    `script-src 'self' ${chatOrigin}`,
    `connect-src 'self' ${chatOrigin} ${chatOrigin.replace(/^http/, 'ws')}${s3Origin ? ` ${s3Origin}` : ''}`,
    `img-src 'self' ${chatOrigin} data:`,
    "style-src 'self'",
  ].join('; ');

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const path = url.pathname;
  if (path === '/' || path === '/index.html') {
    const local = /^http:\/\/127\.0\.0\.1:\d+$/;
    const other = url.searchParams.get('chat');
    const s3 = url.searchParams.get('s3');
    if ((other && !local.test(other)) || (s3 && !local.test(s3))) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('chat and s3 must be http://127.0.0.1:<port>');
      return;
    }
    const origin = other || chatOrigin;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp(origin, s3) });
    res.end(page(origin));
  } else if (path === '/site.css') {
    res.writeHead(200, { 'content-type': 'text/css' });
    res.end(css);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }
});

server.listen(Number(port), '127.0.0.1', () => {
  console.log(`host page on http://127.0.0.1:${port}/ embedding ${chatOrigin}/widget.js`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
