// JSON lines to stdout (pino's sync fd 1 writer, which works from worker threads too); prettifying
// is the reader's job (`| pino-pretty`), not the proxy's.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export type LogLevel = LevelWithSilent;

export function createLogger(level: LogLevel, bindings?: Record<string, unknown>): Logger {
  const logger = pino({ level });
  return bindings === undefined ? logger : logger.child(bindings);
}
