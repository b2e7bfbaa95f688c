// The TLS and listener settings: read, and change with the config file's own validation.
// What cannot be applied live is reported as "restart needed" until the process restarts.
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.ts';
import { actorOf } from '../auth.ts';
import { ADMIN_PREFIX } from '../http.ts';
import { flattenSettingsPatch, pickSettings } from '../settings-file.ts';

export function registerSettingsRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const guard = { preHandler: ctx.requireAdmin };

  app.get(`${ADMIN_PREFIX}/api/settings`, guard, async () => ({
    settings: pickSettings(ctx.deps.settings.get()),
    restartNeeded: [...ctx.pendingRestart].sort(),
  }));

  app.patch(`${ADMIN_PREFIX}/api/settings`, guard, async (req) => {
    // Refuse fields outside the editable set before the server sees the patch.
    flattenSettingsPatch(req.body);
    const { config, restartNeeded } = await ctx.deps.settings.update(req.body, actorOf(req));
    // The deps compare with what the server runs with: the list is complete, not a history.
    ctx.pendingRestart.clear();
    for (const f of restartNeeded) ctx.pendingRestart.add(f);
    return { settings: pickSettings(config), restartNeeded: [...ctx.pendingRestart].sort() };
  });
}
