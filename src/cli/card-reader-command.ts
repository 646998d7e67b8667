import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createCardReader } from '../card/reader/card-reader.ts';
import { RenkeiError } from '../shared/errors.ts';
import { listen } from '../shared/http.ts';
import { closeLogger, createLogger } from '../shared/logger.ts';

/**
 * `renkei card-reader --cards <dir> [--port 7181] [--portal <origin>…]`: the resident's card reader
 * (src/card/reader/), a local web page that holds the virtual card files of `--cards` and answers the
 * Myna Portal's login challenges after the PIN. It answers only the portals named by `--portal`
 * (default http://127.0.0.1:7180, the demo's). Prints its URL, runs until SIGINT or SIGTERM.
 *
 * Errors: ERR_VALIDATION (no such cards directory, a portal that is not an origin), ERR_PORT_IN_USE.
 */
export function registerCardReaderCommand(program: Command): void {
  program
    .command('card-reader')
    .description("the resident's card reader for the Myna Portal's login (demo cards in a directory)")
    .requiredOption('--cards <dir>', 'the directory of card files (*.card)')
    .option('--port <port>', 'the port to listen on', '7181')
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--portal <origin...>', 'the portal origins it answers', ['http://127.0.0.1:7180'])
    .action(async (options: { cards: string; port: string; host: string; portal: string[] }) => {
      const cardsDir = resolve(options.cards);
      if (!existsSync(cardsDir) || !statSync(cardsDir).isDirectory()) {
        throw new RenkeiError('ERR_VALIDATION', `--cards: ${cardsDir} is not a directory.`, {
          field: 'cards',
        });
      }
      for (const origin of options.portal) {
        if (!isOrigin(origin)) {
          throw new RenkeiError('ERR_VALIDATION', '--portal: give an origin such as http://127.0.0.1:7180.', {
            field: 'portal',
          });
        }
      }
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new RenkeiError('ERR_VALIDATION', '--port: a port number.', { field: 'port' });
      }
      const logger = await createLogger({ node: 'card-reader' });
      const reader = await createCardReader({ cardsDir, portalOrigins: options.portal, logger });
      const url = await listen(reader, port, options.host);
      console.log(
        `カードリーダー card reader: ${url} (cards in ${cardsDir}; answers ${options.portal.join(', ')})`,
      );
      const stop = () => {
        void reader
          .close()
          .then(() => closeLogger(logger))
          .then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}

function isOrigin(text: string): boolean {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}
