/** tmux/: tmux over a Runner, only ever on berth's own sockets (`tmux -L berth-…`). */
export {
  isNoServer,
  isNoSession,
  PANE_FORMAT,
  parsePanes,
  parseSessions,
  SESSION_FORMAT,
  type TmuxPane,
  type TmuxSession,
} from './formats.js';
export { TMUX_NAME_PATTERN, tmuxNameShell, tmuxSessionName } from './names.js';
export { checkSocket, SOCKET_PATTERN, sessionSocket } from './socket.js';
export {
  type CaptureOptions,
  type NewSessionOptions,
  paneTarget,
  Tmux,
  tmuxArg,
} from './tmux.js';
