import random

words = ["python"]
word = random.choice(words)
guessed = []
lives = 6

print("Welcome to Hangman!")
while lives > 0:
    shown = ""
    for letter in word:
        if letter in guessed:
            shown += letter + " "
        else:
            shown += "_ "
    print(shown)
    if "_" not in shown:
        print("You win!")
        break
    guess = input("Guess a letter: ").lower()
    if guess in guessed:
        print("You already guessed that")
    elif guess in word:
        guessed.append(guess)
        print("Yes!")
    else:
        guessed.append(guess)
        lives = lives - 1
        print("Nope,", lives, "lives left")
else:
    print("You lose! The word was", word)
