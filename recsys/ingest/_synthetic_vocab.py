"""Word lists and weights of the synthetic generator: MovieLens's 18 genres with their relative
frequencies (ml-latest-small counts), six title nouns and three tags per genre, and ml-100k's
occupations. Title nouns depend on a movie's primary genre so title words carry signal."""


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# genre -> (relative frequency, title nouns, tags)
GENRES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "Action": (1828, ("Fury", "Strike", "Bullet", "Vengeance", "Mission", "Fist"),
               ("explosions", "car chase", "fight scenes")),
    "Adventure": (1263, ("Quest", "Island", "Treasure", "Voyage", "Jungle", "Expedition"),
                  ("epic journey", "treasure hunt", "exotic locations")),
    "Animation": (611, ("Toy", "Dragon", "Bunny", "Cartoon", "Robot", "Kingdom"),
                  ("pixar style", "beautiful animation", "talking animals")),
    "Children": (664, ("Puppy", "Friends", "Birthday", "Camp", "Pony", "Playground"),
                 ("family", "kids", "heartwarming")),
    "Comedy": (3756, ("Wedding", "Party", "Vacation", "Roommate", "Neighbors", "Prank"),
               ("funny", "hilarious", "slapstick")),
    "Crime": (1199, ("Heist", "Gangster", "Mob", "Witness", "Alibi", "Getaway"),
              ("heist", "mafia", "corrupt cops")),
    "Documentary": (440, ("Truth", "Story", "Journey", "Planet", "Life", "Voices"),
                    ("true story", "informative", "nature")),
    "Drama": (4361, ("Heart", "Family", "Promise", "Letters", "River", "Winter"),
              ("tearjerker", "great acting", "character study")),
    "Fantasy": (779, ("Wizard", "Sword", "Realm", "Spell", "Throne", "Unicorn"),
                ("magic", "fairy tale", "mythology")),
    "Film-Noir": (87, ("Detective", "Shadows", "Dame", "Rain", "Cigarette", "Alley"),
                  ("noir", "femme fatale", "black and white")),
    "Horror": (978, ("Blood", "Crypt", "Curse", "Haunting", "Scream", "Graveyard"),
               ("gore", "creepy", "jump scares")),
    "Musical": (334, ("Song", "Melody", "Dance", "Stage", "Rhythm", "Broadway"),
                ("music", "singing", "dancing")),
    "Mystery": (573, ("Secret", "Clue", "Riddle", "Puzzle", "Mask", "Cipher"),
                ("whodunit", "mystery", "plot twist")),
    "Romance": (1596, ("Kiss", "Love", "Valentine", "Romance", "Bride", "Sweetheart"),
                ("romantic", "love story", "chick flick")),
    "Sci-Fi": (980, ("Planet", "Galaxy", "Android", "Starship", "Cyborg", "Orbit"),
               ("space", "aliens", "time travel")),
    "Thriller": (1894, ("Conspiracy", "Hostage", "Trap", "Target", "Pursuit", "Panic"),
                 ("suspense", "tense", "psychological")),
    "War": (382, ("Battle", "Soldier", "Front", "Trenches", "Platoon", "Siege"),
            ("war", "world war ii", "military")),
    "Western": (167, ("Outlaw", "Sheriff", "Canyon", "Frontier", "Ranch", "Saddle"),
                ("western", "cowboys", "gunfight")),
}  # fmt: skip
GENRE_NAMES = tuple(GENRES)
GENRE_WEIGHTS = tuple(w for w, _, _ in GENRES.values())
NOUNS_PER_GENRE = 6
TAGS_PER_GENRE = 3

GENERIC_TAGS = ("classic", "twist ending", "must see", "atmospheric", "great soundtrack",
                "visually appealing", "cult film", "dialogue")  # fmt: skip
NEGATIVE_TAGS = ("overrated", "boring", "predictable")

ADJECTIVES = _words(
    "Silent Last Dark Golden Broken Hidden Lost Burning Frozen Crimson Endless Forgotten Wild "
    "Secret Eternal Savage Midnight Lonely Electric Bitter Hollow Iron Velvet Restless Shattered "
    "Distant Sweet Final Little Great Strange Blue Red Falling Rising Fatal Perfect Wicked Quiet "
    "Brave"
)
PLACES = _words(
    "Harbor City Desert Mountain Night Sea North Moon Valley Empire Storm Sun Road Forest Kings "
    "Dead Future Past West"
)

OCCUPATIONS = _words(
    "administrator artist doctor educator engineer entertainment executive healthcare homemaker "
    "lawyer librarian marketing none other programmer retired salesman scientist student "
    "technician writer"
)
OCCUPATION_WEIGHTS = (79, 28, 7, 95, 67, 18, 32, 16, 7, 12, 51, 26, 9, 105, 66, 14, 12, 31, 196,
                      27, 45)  # fmt: skip
