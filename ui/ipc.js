// @ts-check
// Every call from the window to ssotray's Rust side, in one typed module. The webview never
// receives a token, secret, credential or sign-in URL: copying happens in Rust.

/** @typedef {{session: string, accountId: string, accountName: string, roleName: string, profile?: string}} RoleRef */
/** @typedef {{session: string, profile: string, sourceAccountId: string, sourceRoleName: string, accountId: string, roleName: string}} Chained */
/** @typedef {{accountId: string, accountName: string, emailAddress?: string, roles: string[]}} AccountRoles */
/** @typedef {{kind: 'browser'} | {kind: 'device-code', userCode: string, verificationUri: string}} Pending */
/** @typedef {{at: string, source: 'configured'|'learned'|'assumed'|'token-expiry', lengthSecs: number}} SessionEnd */
/** @typedef {{name: string, startUrl: string, region: string, legacy: boolean, state: 'logged-out'|'valid'|'expired'|'unreadable',
 *   expiresAt?: string, canRefresh?: boolean, reason?: string, sessionEnd?: SessionEnd|null, endedAt?: string|null,
 *   pending?: Pending|null, error?: string|null, fetchedAt?: string|null, progress?: [number, number]|null}} SessionDto */
/** @typedef {{session: string, accounts: AccountRoles[]}} SessionAccounts */
/** @typedef {{now: string, sessions: SessionDto[], favorites: RoleRef[], recent: RoleRef[], configProblems: string[], demo: boolean, trayIcon: boolean,
 *   chained: Chained[], destinations: Record<string, string>, services: string[]}} StateDto */
/** @typedef {{name: string, sessionLengthHours: number|null, loginFlow: 'browser'|'device-code'|null, consoleLink: 'federation'|'portal',
 *   consoleSessionDuration: number, browser: string|null, keychain: boolean}} SessionSettings */
/** @typedef {{leadTimesMinutes: number[], autostart: boolean, sessions: SessionSettings[]}} Settings */

/**
 * @template T
 * @param {string} cmd
 * @param {Record<string, unknown>} [args]
 * @returns {Promise<T>}
 */
function invoke(cmd, args = {}) {
  // Tauri's IPC entry point (withGlobalTauri is off: no global API object is exposed).
  // @ts-ignore
  return window.__TAURI_INTERNALS__.invoke(cmd, args);
}

export const ipc = {
  /** @returns {Promise<StateDto>} */ getState: () => invoke('get_state'),
  /** @returns {Promise<SessionAccounts[]>} */ getAccounts: () => invoke('get_accounts'),
  /** @param {string} session @param {'browser'|'device-code'|null} [flow] */ login: (session, flow = null) => invoke('login', { session, flow }),
  /** @param {string} session */ logout: (session) => invoke('logout', { session }),
  /** @param {string} session */ renew: (session) => invoke('renew', { session }),
  /** @param {string} session */ refreshAccounts: (session) => invoke('refresh_accounts', { session }),
  /** @param {RoleRef} role @param {string} [service] */ openConsole: (role, service = '') => invoke('open_console', { role, service }),
  /** @param {RoleRef} role @param {string} [service] */ copyConsoleUrl: (role, service = '') => invoke('copy_console_url', { role, service }),
  /** @param {RoleRef} role */ copyCredentials: (role) => invoke('copy_credentials', { role }),
  /** @param {RoleRef} role */ copyProfileName: (role) => invoke('copy_profile_name', { role }),
  /** @param {string} session */ openLoginPage: (session) => invoke('open_login_page', { session }),
  /** @param {string} text */ copyText: (text) => invoke('copy_text', { text }),
  /** @param {RoleRef} role */ toggleFavorite: (role) => invoke('toggle_favorite', { role }),
  /** @returns {Promise<Settings>} */ getSettings: () => invoke('get_settings'),
  /** @param {Settings} settings @returns {Promise<string[]>} the sessions whose new browser command waits to be allowed */ saveSettings: (settings) => invoke('save_settings', { settings }),
  /** @param {string} name @param {string} startUrl @param {string} region */
  addIdentityCenter: (name, startUrl, region) => invoke('add_identity_center', { name, startUrl, region }),
  /** @param {string} session @returns {Promise<number>} */ generateProfiles: (session) => invoke('generate_profiles', { session }),
  quit: () => invoke('quit'),
  /** Closes this window (the app goes on in the tray). */ closeWindow: () => invoke('close_window'),
};
