"""What the bot itself says (not knowledge-base answers), per language."""

from __future__ import annotations

from typing import Any

from bot.types import DEFAULT_LANGUAGE

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hi! I'm the Casa Lino assistant. Ask me about orders, delivery, returns "
        "or anything else, and I'll do my best to help.",
        "suggest": "I'm not quite sure what you mean. Did you mean one of these?",
        "fallback": "Sorry, I don't know the answer to that. You can rephrase your question, "
        "or I can bring in a person from our team.",
        "offer_person": "It seems I'm not able to help with this. Would you like to talk to a "
        "person?",
        "handoff_label": "Talk to a person",
        "escalated": "I'm passing this chat to a person from our team. Meanwhile I'll still "
        "answer what I can.",
        "escalated_offline": "Nobody from our team is online right now. Leave your e-mail and "
        "a message, and we'll get back to you as soon as we can.",
        "agent_joined": "{name} has joined the chat.",
        "agent_left": "{name} has left the chat.",
        "requeued": "Your agent got disconnected; you're back in the queue and the next "
        "free person will take over.",
        "transferred": "{name} is taking over this chat.",
        "ended_timeout": "This chat was closed after a period of inactivity.",
        "ended_agent": "{name} has closed this chat.",
        "ended_shopper": "You ended the chat.",
        "erased": "This chat was closed and its personal data erased.",
        "ticket": "Thanks! We've got your message. We'll answer here and by e-mail to {email}.",
        "ticket_no_email": "Nobody from our team was free in time. We've kept your messages "
        "and will answer here: come back to this chat later.",
        "mail_subject": "Your message to {shop}",
        "mail_body": "Hello,\n\n{text}\n\n{name}, {shop}\n\nYou wrote:\n> {question}\n\n"
        "You can also read this answer, and reply, in the chat on our website.",
        "retry_suggest": "Sorry that didn't help. Is it one of these?",
        "retry_rephrase": "Sorry that didn't help. Could you say it in other words? Or I can "
        "bring in a person.",
        "smalltalk_greeting": "Hello! What can I help you with?",
        "smalltalk_thanks": "You're welcome! Anything else I can help with?",
        "smalltalk_goodbye": "Goodbye, and thanks for visiting Casa Lino!",
    },
    "it": {
        "greeting": "Ciao! Sono l'assistente di Casa Lino. Chiedimi di ordini, spedizioni, "
        "resi o altro: farò del mio meglio per aiutarti.",
        "suggest": "Non sono sicuro di aver capito. Intendevi una di queste domande?",
        "fallback": "Mi dispiace, non conosco la risposta. Puoi riformulare la domanda, "
        "oppure posso farti parlare con una persona del nostro team.",
        "offer_person": "Sembra che io non riesca ad aiutarti. Vuoi parlare con una persona?",
        "handoff_label": "Parla con una persona",
        "escalated": "Passo la chat a una persona del nostro team. Nel frattempo continuo a "
        "rispondere a quello che so.",
        "escalated_offline": "In questo momento nessuno del nostro team è online. Lasciaci la "
        "tua e-mail e un messaggio: ti risponderemo il prima possibile.",
        "agent_joined": "{name} è entrato nella chat.",
        "agent_left": "{name} ha lasciato la chat.",
        "requeued": "Il tuo operatore si è disconnesso: sei di nuovo in coda e la prossima "
        "persona libera ti risponderà.",
        "transferred": "Ora ti segue {name}.",
        "ended_timeout": "La chat è stata chiusa per inattività.",
        "ended_agent": "{name} ha chiuso la chat.",
        "ended_shopper": "Hai chiuso la chat.",
        "erased": "Questa chat è stata chiusa e i suoi dati personali cancellati.",
        "ticket": "Grazie! Abbiamo ricevuto il tuo messaggio. Ti risponderemo qui e via e-mail "
        "a {email}.",
        "ticket_no_email": "Nessuno del nostro team era libero in tempo. Abbiamo conservato i "
        "tuoi messaggi e ti risponderemo qui: torna in questa chat più tardi.",
        "mail_subject": "Il tuo messaggio a {shop}",
        "mail_body": "Ciao,\n\n{text}\n\n{name}, {shop}\n\nHai scritto:\n> {question}\n\n"
        "Puoi leggere questa risposta, e rispondere, anche nella chat del nostro sito.",
        "retry_suggest": "Mi dispiace che non sia stato utile. Intendevi una di queste?",
        "retry_rephrase": "Mi dispiace che non sia stato utile. Puoi dirlo con altre parole? "
        "Oppure posso farti parlare con una persona.",
        "smalltalk_greeting": "Ciao! Come posso aiutarti?",
        "smalltalk_thanks": "Figurati! Posso aiutarti con qualcos'altro?",
        "smalltalk_goodbye": "Arrivederci, e grazie per aver visitato Casa Lino!",
    },
    "pl": {
        "greeting": "Cześć! Jestem asystentem Casa Lino. Zapytaj o zamówienia, dostawę, zwroty "
        "lub cokolwiek innego, a postaram się pomóc.",
        "suggest": "Nie jestem pewien, o co chodzi. Czy chodziło o jedno z tych pytań?",
        "fallback": "Przepraszam, nie znam odpowiedzi na to pytanie. Możesz je sformułować "
        "inaczej albo mogę poprosić kogoś z naszego zespołu.",
        "offer_person": "Wygląda na to, że nie potrafię w tym pomóc. Czy chcesz porozmawiać "
        "z konsultantem?",
        "handoff_label": "Porozmawiaj z konsultantem",
        "escalated": "Przekazuję czat osobie z naszego zespołu. W międzyczasie nadal odpowiem "
        "na to, co wiem.",
        "escalated_offline": "Nikt z naszego zespołu nie jest teraz dostępny. Zostaw swój e-mail "
        "i wiadomość, a odpowiemy najszybciej, jak to możliwe.",
        "agent_joined": "{name} dołącza do czatu.",
        "agent_left": "{name} opuszcza czat.",
        "requeued": "Konsultant stracił połączenie; wracasz do kolejki i zajmie się tobą "
        "następna wolna osoba.",
        "transferred": "Teraz rozmowę prowadzi {name}.",
        "ended_timeout": "Czat został zamknięty z powodu braku aktywności.",
        "ended_agent": "{name} zamyka czat.",
        "ended_shopper": "Zakończono czat.",
        "erased": "Ten czat został zamknięty, a jego dane osobowe usunięte.",
        "ticket": "Dziękujemy! Otrzymaliśmy twoją wiadomość. Odpowiemy tutaj i e-mailem na "
        "adres {email}.",
        "ticket_no_email": "Nikt z naszego zespołu nie zdążył odpowiedzieć. Zachowaliśmy twoje "
        "wiadomości i odpowiemy tutaj: wróć do tego czatu później.",
        "mail_subject": "Twoja wiadomość do {shop}",
        "mail_body": "Dzień dobry,\n\n{text}\n\n{name}, {shop}\n\nTwoja wiadomość:\n> "
        "{question}\n\nTę odpowiedź możesz też przeczytać i na nią odpisać na czacie na "
        "naszej stronie.",
        "retry_suggest": "Przykro mi, że to nie pomogło. Czy chodzi o jedno z tych pytań?",
        "retry_rephrase": "Przykro mi, że to nie pomogło. Czy możesz zapytać innymi słowami? "
        "Albo poproszę kogoś z naszego zespołu.",
        "smalltalk_greeting": "Dzień dobry! W czym mogę pomóc?",
        "smalltalk_thanks": "Nie ma za co! Czy mogę pomóc w czymś jeszcze?",
        "smalltalk_goodbye": "Do widzenia i dziękujemy za odwiedzenie Casa Lino!",
    },
}


def say(key: str, language: str, **values: Any) -> str:
    table = TEXTS.get(language) or TEXTS[DEFAULT_LANGUAGE]
    template = table.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**values)
