// The console's words (see /static/common/i18n.js). `t` speaks the page's language.

import { translator } from "/static/common/i18n.js";
import en from "./texts/en.js";
import it from "./texts/it.js";
import pl from "./texts/pl.js";

export const TEXTS = { en, it, pl };
export const t = translator(TEXTS);
