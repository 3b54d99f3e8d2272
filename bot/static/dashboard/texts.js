// The dashboard's words (see /static/common/i18n.js). `t` speaks the page's language;
// plurals follow Intl.PluralRules of that language ({n} is the number).

import { translator } from "/static/common/i18n.js";
import en from "./texts/en.js";
import it from "./texts/it.js";
import pl from "./texts/pl.js";

export const TEXTS = { en, it, pl };
export const t = translator(TEXTS);
