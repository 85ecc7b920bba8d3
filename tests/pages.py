"""Page bodies shared by the end-to-end audit tests: a source that carries a claim, and its drifted twin."""

CLAIM = "The committee published its final budget figures for the coastal flood barrier programme"
FILLER = ("Officials from several regional councils attended the session, which lasted most of the afternoon and "
          "covered maintenance schedules, staffing levels, procurement rules and the timetable for public hearings.")
#: A source page that carries CLAIM.
PAGE = (f"<html><head><title>Budget</title></head><body><article><p>{CLAIM} in March.</p><p>{FILLER}</p>"
        "</article></body></html>")
#: The same address after its content drifted to another topic entirely.
CHANGED = ("<html><head><title>Budget</title></head><body><article><p>Our weekly newsletter covers sport, weather "
           "and local events, with recipes from readers, a crossword, letters to the editor, photographs of the "
           "harbour at dawn and interviews with shop owners about parking in the old town.</p><p>Subscribers also "
           "receive seasonal gardening tips, cinema listings, school holiday dates, ferry timetables, museum "
           "exhibitions and a monthly column about walking trails along the northern cliffs.</p></article></body>"
           "</html>")
