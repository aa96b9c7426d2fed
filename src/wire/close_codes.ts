/**
 * The protocol's WebSocket close codes. They live in `static/close_codes.js`, which the web
 * client imports too, so that server and client cannot disagree.
 *
 * @module
 */
export {
  FINAL_CLOSE_CODES,
  GOING_AWAY,
  INTERNAL_ERROR,
  NORMAL,
  POLICY,
  TOKEN_EXPIRED,
  TOO_LARGE,
  TRY_AGAIN_LATER,
} from "../../static/close_codes.js";
