// Settings changed through the admin API: validated like warden.yaml and refused when the server
// could not start with them (startable.ts), written back to the file with its comments kept,
// applied at once where they can be (the audit switch), and otherwise reported as needing a
// restart — a difference from what the running listener, TLS context and upstream pool were built
// from, so a setting changed and changed back needs none.
import type { Config, RuntimeFlags } from '../config/schema.ts';
import type { ConfigFlags } from '../config/load.ts';
import { changedSettings, writeSettings } from '../admin/settings-file.ts';
import type { AdminDeps } from '../admin/deps.ts';
import type { AuditLog } from '../audit/writer.ts';
import { checkStartable } from './startable.ts';

export interface LiveSettingsInput {
  /** the config the server is running with */
  config: Config;
  configFile: string;
  dataDir: string;
  audit: AuditLog;
  configFlags?: ConfigFlags;
  runtimeFlags?: RuntimeFlags;
}

export function liveSettings(i: LiveSettingsInput): AdminDeps['settings'] {
  const running = i.config;
  let current = i.config;
  return {
    get: () => current,
    async update(patch, actor) {
      // Written with the YAML document API: comments, order and unrelated keys are kept.
      const next = writeSettings(
        { file: i.configFile, env: process.env, flags: i.configFlags ?? {}, check: (c) => checkStartable(c, i.dataDir, i.runtimeFlags ?? { insecureHttp: false, exposedOk: false }) },
        patch,
      );
      const changed = changedSettings(current, next);
      // Applied at once: the audit switch. The listener, TLS and upstream settings are built
      // into the running listener and pool at start-up, so they take a restart.
      const applied: string[] = changed.filter((f) => f === 'audit.enabled');
      const restartNeeded = changedSettings(running, next).filter((f) => f !== 'audit.enabled');
      // Written before the audit switch moves, so turning the log off is itself recorded.
      i.audit.write({ kind: 'config.change', actor, reason: `changed: ${changed.join(', ') || 'nothing'}; applied now: ${applied.join(', ') || 'none'}` });
      if (applied.includes('audit.enabled')) i.audit.setEnabled(next.audit.enabled);
      current = next;
      return { config: next, restartNeeded };
    },
  };
}
