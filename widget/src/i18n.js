/**
 * The widget's own texts in English, Italian and Polish, and the choice of language:
 * the `lang` setting, else the page's `<html lang>`, else the browser's languages,
 * else English. Once the conversation's language is known (the server says it),
 * the interface follows it: `t.use(lang)`, then `relabel(root, t)` rewrites every
 * element marked with `data-t` (its text) or `data-ta` ("attribute:key" pairs).
 */

export const LANGUAGES = ["en", "it", "pl"];

const en = {
  title: "Chat with us",
  launcher: "Open chat",
  launcherUnread: "Open chat, {count} unread",
  close: "Minimise chat",
  dialog: "Support chat",
  transcript: "Messages",
  placeholder: "Type your message…",
  inputLabel: "Your message",
  send: "Send",
  connecting: "Connecting…",
  online: "Online",
  offline: "Offline, reconnecting…",
  sending: "Sending…",
  queued: "Will be sent when you're back online",
  failed: "Not sent",
  you: "You",
  assistant: "Assistant",
  support: "Support",
  helpful: "Was this helpful?",
  yes: "Yes",
  no: "No",
  feedbackThanks: "Thanks for your feedback.",
  handoff: "Talk to a person",
  endChat: "End chat",
  waiting: "Connecting you to a person…",
  waitMinutes: "Expected wait: about {minutes} min.",
  waitSoon: "Someone will be with you shortly.",
  joined: "{name} joined the chat",
  typing: "Typing…",
  agentTyping: "{name} is typing…",
  leaveIntro: "Leave your e-mail and a message, and we'll answer here and by e-mail.",
  teamOnline: "We're online",
  teamAway: "We're away",
  nobodyOnline: "Nobody from our team is online right now.",
  ticketTitle: "We've got your message.",
  ticketText: "We'll answer here and by e-mail.",
  personWillRead: "A person will read this",
  email: "Your e-mail",
  message: "Message",
  leaveSend: "Send message",
  leaveSent: "Thanks! We've got your message.",
  invalidEmail: "Please enter a valid e-mail address.",
  emptyText: "Please write a message.",
  error: "Something went wrong. Please try again.",
  ended: "This chat has ended.",
  csatQuestion: "How would you rate this chat?",
  csat1: "Very dissatisfied",
  csat2: "Dissatisfied",
  csat3: "Neutral",
  csat4: "Satisfied",
  csat5: "Very satisfied",
  csatComment: "Comment (optional)",
  csatSubmit: "Submit",
  csatThanks: "Thank you for your feedback!",
  npsQuestion: "How likely are you to recommend us to a friend?",
  npsLow: "Not likely",
  npsHigh: "Very likely",
  npsSkip: "Skip",
  newChat: "Start a new chat",
  privacyNotice: "We store this chat to help you.",
  privacyLink: "Privacy notice",
  replySoon: "Typically replies in under a minute",
  replyMinutes: "Typically replies in {minutes} min",
  replyHours: "Typically replies in {hours} h",
  backAt: "Back {when}",
  seen: "Seen",
  attach: "Send a picture",
  uploading: "Uploading…",
  uploadTooBig: "This picture is too large (at most {size} MB).",
  uploadType: "Only pictures can be sent (PNG, JPEG, GIF, WebP).",
  uploadTooMany: "This chat cannot take more pictures.",
};

const it = {
  title: "Scrivici",
  launcher: "Apri la chat",
  launcherUnread: "Apri la chat, {count} non letti",
  close: "Riduci la chat",
  dialog: "Chat di assistenza",
  transcript: "Messaggi",
  placeholder: "Scrivi un messaggio…",
  inputLabel: "Il tuo messaggio",
  send: "Invia",
  connecting: "Connessione…",
  online: "In linea",
  offline: "Offline, riconnessione…",
  sending: "Invio…",
  queued: "Verrà inviato appena torni online",
  failed: "Non inviato",
  you: "Tu",
  assistant: "Assistente",
  support: "Assistenza",
  helpful: "Ti è stato utile?",
  yes: "Sì",
  no: "No",
  feedbackThanks: "Grazie per il riscontro.",
  handoff: "Parla con una persona",
  endChat: "Termina la chat",
  waiting: "Ti stiamo mettendo in contatto con una persona…",
  waitMinutes: "Attesa prevista: circa {minutes} min.",
  waitSoon: "Qualcuno ti risponderà a breve.",
  joined: "{name} è entrato nella chat",
  typing: "Sta scrivendo…",
  agentTyping: "{name} sta scrivendo…",
  leaveIntro: "Lasciaci la tua e-mail e un messaggio: ti risponderemo qui e via e-mail.",
  teamOnline: "Siamo online",
  teamAway: "Non siamo online",
  nobodyOnline: "In questo momento nessuno del nostro team è online.",
  ticketTitle: "Abbiamo ricevuto il tuo messaggio.",
  ticketText: "Ti risponderemo qui e via e-mail.",
  personWillRead: "Lo leggerà una persona",
  email: "La tua e-mail",
  message: "Messaggio",
  leaveSend: "Invia messaggio",
  leaveSent: "Grazie! Abbiamo ricevuto il tuo messaggio.",
  invalidEmail: "Inserisci un indirizzo e-mail valido.",
  emptyText: "Scrivi un messaggio.",
  error: "Qualcosa è andato storto. Riprova.",
  ended: "La chat è terminata.",
  csatQuestion: "Come valuti questa chat?",
  csat1: "Molto insoddisfatto",
  csat2: "Insoddisfatto",
  csat3: "Neutrale",
  csat4: "Soddisfatto",
  csat5: "Molto soddisfatto",
  csatComment: "Commento (facoltativo)",
  csatSubmit: "Invia",
  csatThanks: "Grazie per la tua valutazione!",
  npsQuestion: "Quanto è probabile che ci consiglieresti a un amico?",
  npsLow: "Per niente",
  npsHigh: "Molto probabile",
  npsSkip: "Salta",
  newChat: "Inizia una nuova chat",
  privacyNotice: "Conserviamo questa chat per aiutarti.",
  privacyLink: "Informativa sulla privacy",
  replySoon: "Di solito risponde in meno di un minuto",
  replyMinutes: "Di solito risponde in {minutes} min",
  replyHours: "Di solito risponde in {hours} h",
  backAt: "Torniamo {when}",
  seen: "Visualizzato",
  attach: "Invia una foto",
  uploading: "Caricamento…",
  uploadTooBig: "Questa foto è troppo grande (al massimo {size} MB).",
  uploadType: "Si possono inviare solo immagini (PNG, JPEG, GIF, WebP).",
  uploadTooMany: "Questa chat non può ricevere altre foto.",
};

const pl = {
  title: "Napisz do nas",
  launcher: "Otwórz czat",
  launcherUnread: "Otwórz czat, nieprzeczytane: {count}",
  close: "Zminimalizuj czat",
  dialog: "Czat z obsługą klienta",
  transcript: "Wiadomości",
  placeholder: "Napisz wiadomość…",
  inputLabel: "Twoja wiadomość",
  send: "Wyślij",
  connecting: "Łączenie…",
  online: "Połączono",
  offline: "Brak połączenia, ponawianie…",
  sending: "Wysyłanie…",
  queued: "Zostanie wysłana po odzyskaniu połączenia",
  failed: "Nie wysłano",
  you: "Ty",
  assistant: "Asystent",
  support: "Obsługa klienta",
  helpful: "Czy to było pomocne?",
  yes: "Tak",
  no: "Nie",
  feedbackThanks: "Dziękujemy za opinię.",
  handoff: "Porozmawiaj z konsultantem",
  endChat: "Zakończ czat",
  waiting: "Łączymy cię z konsultantem…",
  waitMinutes: "Przewidywany czas oczekiwania: około {minutes} min.",
  waitSoon: "Ktoś zaraz się tobą zajmie.",
  joined: "{name} dołącza do czatu",
  typing: "Pisze…",
  agentTyping: "{name} pisze…",
  leaveIntro: "Zostaw swój e-mail i wiadomość, a odpowiemy tutaj i e-mailem.",
  teamOnline: "Jesteśmy dostępni",
  teamAway: "Jesteśmy niedostępni",
  nobodyOnline: "Nikt z naszego zespołu nie jest teraz dostępny.",
  ticketTitle: "Otrzymaliśmy twoją wiadomość.",
  ticketText: "Odpowiemy tutaj i e-mailem.",
  personWillRead: "Przeczyta to konsultant",
  email: "Twój e-mail",
  message: "Wiadomość",
  leaveSend: "Wyślij wiadomość",
  leaveSent: "Dziękujemy! Otrzymaliśmy twoją wiadomość.",
  invalidEmail: "Podaj poprawny adres e-mail.",
  emptyText: "Napisz wiadomość.",
  error: "Coś poszło nie tak. Spróbuj ponownie.",
  ended: "Czat został zakończony.",
  csatQuestion: "Jak oceniasz tę rozmowę?",
  csat1: "Bardzo niezadowolony",
  csat2: "Niezadowolony",
  csat3: "Neutralnie",
  csat4: "Zadowolony",
  csat5: "Bardzo zadowolony",
  csatComment: "Komentarz (opcjonalnie)",
  csatSubmit: "Wyślij",
  csatThanks: "Dziękujemy za ocenę!",
  npsQuestion: "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu?",
  npsLow: "Mało prawdopodobne",
  npsHigh: "Bardzo prawdopodobne",
  npsSkip: "Pomiń",
  newChat: "Rozpocznij nowy czat",
  privacyNotice: "Zapisujemy tę rozmowę, aby ci pomóc.",
  privacyLink: "Polityka prywatności",
  replySoon: "Zwykle odpowiadamy w mniej niż minutę",
  replyMinutes: "Zwykle odpowiadamy w {minutes} min",
  replyHours: "Zwykle odpowiadamy w {hours} godz.",
  backAt: "Wracamy: {when}",
  seen: "Wyświetlono",
  attach: "Wyślij zdjęcie",
  uploading: "Wysyłanie zdjęcia…",
  uploadTooBig: "To zdjęcie jest za duże (maksymalnie {size} MB).",
  uploadType: "Można wysyłać tylko zdjęcia (PNG, JPEG, GIF, WebP).",
  uploadTooMany: "Ten czat nie przyjmie więcej zdjęć.",
};

export const TEXTS = { en, it, pl };

/** The first supported language among the setting, the page's and the browser's. */
export function pickLanguage(setting, pageLang, browserLangs = []) {
  for (const candidate of [setting, pageLang, ...browserLangs]) {
    const code = String(candidate || "").trim().slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(code)) return code;
  }
  return "en";
}

/**
 * `t(key, {name})` in the current language; English fills any gap; `{name}` slots are
 * filled as text. `t.use(lang)` switches the language (true when it changed).
 */
export function translator(lang) {
  let table = en;
  const t = (key, values = {}) => {
    const template = table[key] ?? en[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (slot, name) => (name in values ? String(values[name]) : slot));
  };
  t.use = (next) => {
    if (!TEXTS[next] || next === t.lang) return false;
    table = TEXTS[next];
    t.lang = next;
    return true;
  };
  t.lang = "en";
  t.use(lang);
  return t;
}

/** Rewrite the marked texts under `root` in `t`'s language (see the top of this file). */
export function relabel(root, t) {
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll("[data-ta]")) {
    for (const pair of el.dataset.ta.split(" ")) {
      const [attr, key] = pair.split(":");
      if (key) el.setAttribute(attr, t(key));
    }
  }
}
