// The demo's pager: receives rebound's escalation webhooks on PAGER_PORT (9999) and prints each
// page, standing in for PagerDuty or Slack. rebound supervises it; /health answers on PORT.

import console from 'node:console';
import { createServer } from 'node:http';
import process from 'node:process';

function listen(port, handler) {
  createServer(handler).listen(port, process.env.HOST ?? '127.0.0.1');
}

listen(Number(process.env.PAGER_PORT ?? 9999), (request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    try {
      const page = JSON.parse(body);
      console.log(
        `PAGE ${page.action ?? ''} [${page.severity ?? '?'}] ${page.service ?? ''}: ${page.summary ?? body}`,
      );
      if (page.tried?.length) console.log(`  already tried: ${page.tried.join('; ')}`);
    } catch {
      console.log(`PAGE (not JSON) ${body.slice(0, 200)}`);
    }
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end('{"status":"accepted"}');
  });
});

listen(Number(process.env.PORT ?? 3002), (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"status":"ok"}');
});
process.on('SIGTERM', () => process.exit(0));
